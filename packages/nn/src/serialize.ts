import { loadSafetensors, saveSafetensors, type Tensor } from '@nutshell/core';
import type { LoadReport, Module } from './module.js';

/** safetensors bytes of a module's state dict (parameters and persistent buffers, by dotted path). */
export function stateDictToSafetensors(module: Module, metadata: Record<string, string> = {}): Uint8Array {
  return saveSafetensors(module.stateDict(), { metadata: { format: 'pt', ...metadata } });
}

/** Loads safetensors bytes into a module (strict by default); returns the load report. */
export function loadSafetensorsInto(module: Module, bytes: Uint8Array, options: { strict?: boolean } = {}): LoadReport & { metadata: Record<string, string> | undefined } {
  const { tensors, metadata } = loadSafetensors(bytes);
  try {
    return { ...module.loadStateDict(tensors, options), metadata };
  } finally {
    for (const t of Object.values(tensors)) (t as Tensor).dispose();
  }
}

/** Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const fs = await import('node:fs/promises');
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Saves a module's state dict as a .safetensors file (Node only), atomically. */
export async function saveModule(path: string, module: Module, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, stateDictToSafetensors(module, metadata));
}

/** Loads a .safetensors file into a module (Node only). */
export async function loadModule(path: string, module: Module, options: { strict?: boolean } = {}): Promise<LoadReport & { metadata: Record<string, string> | undefined }> {
  const fs = await import('node:fs/promises');
  return loadSafetensorsInto(module, new Uint8Array(await fs.readFile(path)), options);
}
