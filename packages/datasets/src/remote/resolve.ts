import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@nutshell/core';
import { ChecksumError, DatasetNotFoundError } from '../errors.js';
import { DATA_DIR_ENV, resolveCacheDir, resolveDataDir, type DataLocationOptions } from '../locations.js';
import { downloadFile } from './download.js';
import { sha256File } from './sha256.js';

/** A file that a dataset fetches by URL and pins by checksum. */
export interface RemoteFile {
  /** Dataset name for messages, e.g. "tinyshakespeare". */
  dataset: string;
  url: string;
  /** Expected SHA-256, hex. */
  sha256: string;
  bytes?: number;
  /** Where the file lives under a data folder or the cache, e.g. "tinyshakespeare/input.txt". */
  relativePath: string;
}

export type RemoteEvent =
  | { type: 'found'; path: string; source: ResolvedFile['source'] }
  | { type: 'corrupt'; path: string; expected: string; actual: string; action: 'refetch' | 'report' }
  | { type: 'download'; url: string; dest: string }
  | { type: 'downloaded'; url: string; dest: string; bytes: number };

export interface RemoteOptions extends DataLocationOptions {
  /** Use exactly this file (checked against the checksum). */
  path?: string;
  /**
   * Allow fetching the URL when no valid local copy exists (default false, like torchvision's
   * `download=False`: nothing touches the network unless asked).
   */
  download?: boolean;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Told about cache hits, corrupt files and downloads. */
  onEvent?: (event: RemoteEvent) => void;
}

export interface ResolvedFile {
  path: string;
  /** Where it was found: the explicit path, the data folder, the cache, or a fresh download. */
  source: 'path' | 'data-dir' | 'cache' | 'download';
  sha256: string;
  /** A corrupt cached copy was replaced by a fresh download. */
  refetched: boolean;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/**
 * Finds a valid local copy of a remote file, in order: the explicit `path`, `<dataDir>/<relativePath>`
 * (option or NUTSHELL_DATA_DIR), `<cacheDir>/<relativePath>`; downloads into the cache only when
 * `download` is true. Every copy is checked by SHA-256. Copies in the data folder or at an explicit
 * path are never overwritten: a mismatch there is a ChecksumError. A corrupt cache copy is fetched
 * again when downloading is allowed, otherwise reported.
 */
export async function resolveRemoteFile(file: RemoteFile, options: RemoteOptions = {}): Promise<ResolvedFile> {
  if (!/^[0-9a-f]{64}$/i.test(file.sha256)) throw new InvalidArgumentError(`${file.dataset}: sha256 must be 64 hex digits, got ${JSON.stringify(file.sha256)}`);
  const expected = file.sha256.toLowerCase();
  const emit = options.onEvent ?? (() => {});
  const searched: string[] = [];

  const check = async (path: string, source: ResolvedFile['source'], hint: string): Promise<ResolvedFile> => {
    const actual = await sha256File(path);
    if (actual !== expected) {
      emit({ type: 'corrupt', path, expected, actual, action: 'report' });
      throw new ChecksumError(path, expected, actual, hint);
    }
    emit({ type: 'found', path, source });
    return { path, source, sha256: actual, refetched: false };
  };

  if (options.path !== undefined) {
    const path = resolve(options.path);
    if (!isFile(path)) {
      throw new DatasetNotFoundError(file.dataset, [path], `the given path does not exist; download ${file.url} there (sha256 ${expected})`);
    }
    return check(path, 'path', `it is not the expected ${file.dataset} file; get a fresh copy from ${file.url}`);
  }

  const dataDir = resolveDataDir(options);
  if (dataDir) {
    const path = join(dataDir, file.relativePath);
    searched.push(path);
    if (isFile(path)) return check(path, 'data-dir', `replace it with a fresh copy from ${file.url} (the data folder is never modified by nutshell)`);
  }

  const cacheDir = resolveCacheDir(options);
  const cached = join(cacheDir, file.relativePath);
  searched.push(cached);
  let refetched = false;
  if (isFile(cached)) {
    const actual = await sha256File(cached);
    if (actual === expected) {
      emit({ type: 'found', path: cached, source: 'cache' });
      return { path: cached, source: 'cache', sha256: actual, refetched: false };
    }
    emit({ type: 'corrupt', path: cached, expected, actual, action: options.download ? 'refetch' : 'report' });
    if (!options.download) {
      throw new ChecksumError(cached, expected, actual, `the cached copy is corrupt; delete it, or pass { download: true } to fetch ${file.url} again`);
    }
    refetched = true;
  }

  if (!options.download) {
    const where = dataDir ? join(dataDir, file.relativePath) : `<${DATA_DIR_ENV}>/${file.relativePath}`;
    throw new DatasetNotFoundError(
      file.dataset,
      searched,
      `downloading is off; put the file (${file.bytes ?? '?'} bytes, sha256 ${expected}) from ${file.url} at ${where} ` +
        `(set ${DATA_DIR_ENV} or pass { dataDir }) or at ${cached}, pass { path }, or pass { download: true }`,
    );
  }
  emit({ type: 'download', url: file.url, dest: cached });
  const { bytes } = await downloadFile(file.url, cached, { sha256: expected, fetch: options.fetch, timeoutMs: options.timeoutMs });
  emit({ type: 'downloaded', url: file.url, dest: cached, bytes });
  return { path: cached, source: 'download', sha256: expected, refetched };
}
