import { FormatError, loadSafetensors, saveSafetensors, type Tensor } from '@nutshell/core';
import { configFromPeftJson, configToPeftJson, type LoraConfig } from './config.js';
import type { LoraModel } from './lora-model.js';

/** The two files of a PEFT adapter directory, as bytes/text. */
export interface PeftAdapterFiles {
  /** adapter_config.json */
  config: string;
  /** adapter_model.safetensors */
  weights: Uint8Array;
}

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';

/** Serializes one adapter in PEFT's layout (safetensors metadata {"format": "pt"} like PEFT). */
export function toPeftFiles(lora: LoraModel, adapterName: string = lora.activeAdapter): PeftAdapterFiles {
  const config = lora.peftConfig.get(adapterName)!;
  const tensors = lora.adapterStateDict(adapterName);
  return {
    config: `${JSON.stringify(configToPeftJson(config), null, 2)}\n`,
    weights: saveSafetensors(tensors, { metadata: { format: 'pt' } }),
  };
}

/** Parses PEFT adapter files; the caller owns the returned tensors. */
export function parsePeftFiles(files: PeftAdapterFiles): { config: LoraConfig; tensors: Record<string, Tensor> } {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(files.config);
  } catch (e) {
    throw new FormatError('adapter_config.json', `not valid JSON: ${(e as Error).message}`);
  }
  const config = configFromPeftJson(json);
  const { tensors } = loadSafetensors(files.weights);
  return { config, tensors };
}

/** Loads PEFT adapter files into a LoraModel as adapter `name` (activated). */
export function loadPeftFiles(lora: LoraModel, files: PeftAdapterFiles, name: string): LoraConfig {
  const { config, tensors } = parsePeftFiles(files);
  try {
    lora.loadAdapterTensors(name, config, tensors);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return config;
}
