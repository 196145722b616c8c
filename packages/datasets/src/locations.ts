import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where to look for local copies of datasets and where to cache downloads. */
export interface DataLocationOptions {
  /**
   * A folder laid out like `<dataDir>/tinyshakespeare/input.txt` (read-only is fine). Defaults to
   * the `NUTSHELL_DATA_DIR` environment variable; unset means "no data folder".
   */
  dataDir?: string;
  /**
   * Where downloads are stored. Defaults to `NUTSHELL_CACHE_DIR`, then `$XDG_CACHE_HOME/nutshell/datasets`,
   * then `~/.cache/nutshell/datasets`.
   */
  cacheDir?: string;
}

export const DATA_DIR_ENV = 'NUTSHELL_DATA_DIR';
export const CACHE_DIR_ENV = 'NUTSHELL_CACHE_DIR';

export function resolveDataDir(options: DataLocationOptions = {}): string | undefined {
  const dir = options.dataDir ?? process.env[DATA_DIR_ENV];
  return dir ? resolve(dir) : undefined;
}

export function resolveCacheDir(options: DataLocationOptions = {}): string {
  const dir = options.cacheDir ?? process.env[CACHE_DIR_ENV];
  if (dir) return resolve(dir);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'nutshell', 'datasets');
}
