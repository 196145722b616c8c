/**
 * Node-only adapter I/O (`@nutshell/finetune-lora/node`): PEFT adapter directories on disk.
 */
import { writeFileAtomic } from '@nutshell/core/node';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '@nutshell/nn';
import { LoraModel, type LoraModelOptions } from './lora-model.js';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, loadPeftFiles, toPeftFiles, type PeftAdapterFiles } from './peft-files.js';

/** Writes adapter_config.json + adapter_model.safetensors to `dir` (created if needed). */
export async function saveAdapter(lora: LoraModel, dir: string, adapterName: string = lora.activeAdapter): Promise<void> {
  const files = toPeftFiles(lora, adapterName);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_NAME), files.config);
  await writeFileAtomic(join(dir, ADAPTER_WEIGHTS_NAME), files.weights);
}

export async function readAdapterFiles(dir: string): Promise<PeftAdapterFiles> {
  const [config, weights] = await Promise.all([readFile(join(dir, ADAPTER_CONFIG_NAME), 'utf8'), readFile(join(dir, ADAPTER_WEIGHTS_NAME))]);
  return { config, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) };
}

/** Loads an adapter directory into an existing LoraModel under `name` (no base reload). */
export async function loadAdapter(lora: LoraModel, dir: string, name: string): Promise<void> {
  loadPeftFiles(lora, await readAdapterFiles(dir), name);
}

/**
 * PEFT's `PeftModel.from_pretrained(model, dir)`: wraps `model` with the adapter from `dir` as
 * 'default' (or options.adapterName).
 */
export async function fromPretrained<M extends Module>(model: M, dir: string, options: LoraModelOptions = {}): Promise<LoraModel<M>> {
  const files = await readAdapterFiles(dir);
  const lora = new LoraModel(model, null, options);
  loadPeftFiles(lora, files, options.adapterName ?? 'default');
  return lora;
}
