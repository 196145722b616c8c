import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError } from '@nutshell/core';

/**
 * Writes a file atomically: to a temporary file in the same folder, then renamed over the target, so
 * a reader (or a crash) never sees a half-written output and a failed run leaves the old file intact.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, what = '--out'): void {
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError(`${what}: give a file path`);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new InvalidArgumentError(`${what}: cannot write ${path}: ${(err as Error).message}`);
  }
}
