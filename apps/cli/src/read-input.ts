import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError } from '@nutshell/core';

/** Reads a whole input file, turning file-system errors into one-line, input-naming errors. */
export async function readInputFile(path: string, expected: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new InvalidArgumentError(`${path}: is a directory, expected ${expected}`);
    if (!info.isFile()) throw new InvalidArgumentError(`${path}: is not a regular file, expected ${expected}`);
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new InvalidArgumentError(`${path}: no such file`);
    if (code === 'EACCES' || code === 'EPERM') throw new InvalidArgumentError(`${path}: permission denied`);
    if (code === 'EISDIR') throw new InvalidArgumentError(`${path}: is a directory, expected ${expected}`);
    throw new InvalidArgumentError(`${path}: cannot read (${(err as Error).message})`);
  }
}
