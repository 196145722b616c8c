import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, type Variable } from '@nutshell/core';
import { LoraModel, loadPeftFiles, toPeftFiles, type PeftAdapterFiles } from '@nutshell/finetune-lora';
import { quantizeModel } from '@nutshell/quantize';
import { CharTokenizer, GPT, gpt2FromBytes, gpt2ToBytes } from '@nutshell/transformer';

/**
 * Node-side fixtures for the text page's e2e test: a tiny GPT checkpoint in the Hugging Face GPT-2
 * layout (config.json + model.safetensors + char-tokenizer.json), a PEFT adapter for it
 * (adapter_config.json + adapter_model.safetensors), and reference losses computed here with
 * `model.loss` on one window (the page scores through `scoreTokens`: a different path).
 */

export const ALPHABET = 'abcdefghijklmnopqrstuvwxyz :.,\n';
export const CONTEXT = 64;
/** Both texts are shorter than the context, so one forward scores every token. */
export const ADAPTER_TEXT = 'cat: a small domesticated carnivore.\n';
export const HELD_OUT = 'oak: a tree bearing acorns, hard wood.\n';

export interface TextFixtures {
  checkpointDir: string;
  adapterDir: string;
  files: { checkpoint: string[]; adapter: string[] };
  tokenizer: CharTokenizer;
  base: { config: string; safetensors: Uint8Array };
  adapter: PeftAdapterFiles;
}

export function makeTextFixtures(): TextFixtures {
  const root = mkdtempSync(join(tmpdir(), 'nutshell-playground-ckpt-'));
  const tokenizer = CharTokenizer.fromText(ALPHABET);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 2, nHead: 2, nEmbd: 32, nPositions: CONTEXT }, { seed: 7 });
  const base = gpt2ToBytes(model);
  const checkpointDir = join(root, 'checkpoint');
  const adapterDir = join(root, 'adapter');
  for (const d of [checkpointDir, adapterDir]) mkdirSync(d);
  writeFileSync(join(checkpointDir, 'config.json'), base.config);
  writeFileSync(join(checkpointDir, 'model.safetensors'), base.safetensors);
  writeFileSync(join(checkpointDir, 'char-tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  // A rank-2 adapter on every projection with B set to sizable random values (B = 0 would be a no-op).
  const lora = new LoraModel(model, { r: 2, lora_alpha: 4, target_modules: ['c_attn', 'c_proj', 'c_fc'], fan_in_fan_out: true }, { seed: 3 });
  let seed = 11;
  for (const [key, v] of Object.entries(lora.adapterStateDict())) {
    if (key.includes('lora_B')) tf.tidy(() => (v as Variable).assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed++)));
  }
  const adapter = toPeftFiles(lora);
  writeFileSync(join(adapterDir, 'adapter_config.json'), adapter.config);
  writeFileSync(join(adapterDir, 'adapter_model.safetensors'), adapter.weights);
  lora.dispose();
  model.dispose();
  return {
    checkpointDir,
    adapterDir,
    files: {
      checkpoint: ['config.json', 'model.safetensors', 'char-tokenizer.json'].map((f) => join(checkpointDir, f)),
      adapter: ['adapter_config.json', 'adapter_model.safetensors'].map((f) => join(adapterDir, f)),
    },
    tokenizer,
    base,
    adapter,
  };
}

/** The checkpoint from its bytes, with the adapter applied (unmerged) and/or merged and quantized. */
export function referenceModel(fx: TextFixtures, options: { adapter?: boolean; quantize?: 'int8' | 'nf4' } = {}): GPT {
  const model = gpt2FromBytes(JSON.parse(fx.base.config) as Record<string, unknown>, fx.base.safetensors);
  if (options.adapter) {
    const lora = new LoraModel(model, null);
    loadPeftFiles(lora, fx.adapter, 'ref');
    if (options.quantize) lora.mergeAndUnload();
  }
  if (options.quantize) quantizeModel(model, options.quantize);
  model.eval();
  return model;
}

/** Mean next-token cross-entropy of a text (shorter than the context) by the model's own loss. */
export function referenceLoss(model: GPT, tokenizer: CharTokenizer, text: string): number {
  const ids = tokenizer.encode(text);
  if (ids.length > CONTEXT + 1) throw new Error('reference texts must fit in one window');
  return tf.tidy(() => model.loss(tf.tensor2d([ids.slice(0, -1)], undefined, 'int32'), tf.tensor2d([ids.slice(1)], undefined, 'int32')).dataSync()[0]!);
}
