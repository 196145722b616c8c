/**
 * Node-only file helpers (`@nutshell/core/node`): safetensors files and atomic writes.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import './setup.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';
import type { LoadedSafetensors, RawTensor, SaveSafetensorsOptions } from './safetensors.js';
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * Writes `bytes` to `path` so that readers see either the old file or the complete new one, never a
 * partial write: it writes a temporary file in the same directory (same file system, so the rename is
 * atomic), fsyncs it, renames it over `path`, then fsyncs the directory where the platform allows.
 * The new file gets default permissions (0o666 minus the umask), not those of the file it replaces.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx');
  try {
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  // Persist the rename itself. Opening a directory fails on some platforms (Windows): best effort.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // ignored: the data file itself is already synced
  }
}

/** Reads a safetensors file into tfjs tensors (FormatError if it is malformed). */
export async function readSafetensorsFile(path: string): Promise<LoadedSafetensors> {
  return loadSafetensors(await readFile(path));
}

/** Writes tensors to a safetensors file atomically (see `saveSafetensors` for the options). */
export async function writeSafetensorsFile(
  path: string,
  tensors: Record<string, Tensor | RawTensor>,
  options: SaveSafetensorsOptions = {},
): Promise<void> {
  await writeFileAtomic(path, saveSafetensors(tensors, options));
}
