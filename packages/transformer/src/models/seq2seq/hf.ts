import { FormatError, InvalidArgumentError, parseSafetensors, rawToTensor, saveSafetensors, type Tensor } from '@nutshell/core';
import { StateDictError, writeFileAtomic } from '@nutshell/nn';
import { t5ConfigFromHf, t5ConfigToHf } from './config.js';
import { T5 } from './model.js';

/** Tied copies of `shared` some T5 files carry; the model has them once, as shared.weight. */
const TIED = new Set(['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight']);

/** Builds a T5 from a parsed HF T5 `config.json` object and `model.safetensors` bytes. */
export function t5FromBytes(config: Record<string, unknown>, safetensors: Uint8Array): T5 {
  const cfg = t5ConfigFromHf(config);
  const parsed = parseSafetensors(safetensors);
  const model = new T5(cfg, { seed: 0 });
  const dict: Record<string, Tensor> = {};
  try {
    for (const [key, raw] of Object.entries(parsed.tensors)) {
      if (TIED.has(key) && 'shared.weight' in parsed.tensors) continue;
      if (key === 'lm_head.weight' && cfg.tieWordEmbeddings) continue; // the tied head is shared
      const k = TIED.has(key) ? 'shared.weight' : key;
      dict[k] = rawToTensor(raw, key);
    }
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError) throw new FormatError('T5 safetensors', `${e.message.replace(/^loadStateDict: /, '')} (for config num_layers=${cfg.numLayers}, num_decoder_layers=${cfg.numDecoderLayers}, d_model=${cfg.dModel}, feed_forward_proj=${cfg.feedForwardProj})`);
    throw e;
  } finally {
    for (const t of Object.values(dict)) t.dispose();
  }
  model.eval();
  return model;
}

/** The files of a T5 in HF layout: `config.json` text and `model.safetensors` bytes (tied copies left out, as save_pretrained). */
export function t5ToBytes(model: T5, extraConfig: Record<string, unknown> = {}): { config: string; safetensors: Uint8Array } {
  const config = `${JSON.stringify(t5ConfigToHf(model.config, extraConfig), null, 2)}\n`;
  return { config, safetensors: saveSafetensors(model.stateDict(), { metadata: { format: 'pt' } }) };
}

async function readBytes(path: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InvalidArgumentError(`loadT5: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Loads `config.json` + `model.safetensors` (HF T5 layout) from a folder. Node only. */
export async function loadT5(dir: string): Promise<T5> {
  const { join } = await import('node:path');
  const path = join(dir, 'config.json');
  const text = new TextDecoder().decode(await readBytes(path));
  let config: Record<string, unknown>;
  try {
    const j = JSON.parse(text) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not a JSON object');
    config = j as Record<string, unknown>;
  } catch (e) {
    throw new FormatError('config.json', `${path}: ${(e as Error).message}`);
  }
  return t5FromBytes(config, await readBytes(join(dir, 'model.safetensors')));
}

/** Writes `config.json` + `model.safetensors` in HF T5 layout (atomic writes). Node only. */
export async function saveT5(model: T5, dir: string, extraConfig: Record<string, unknown> = {}): Promise<string[]> {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const { config, safetensors } = t5ToBytes(model, extraConfig);
  const files = [join(dir, 'config.json'), join(dir, 'model.safetensors')];
  await writeFileAtomic(files[0]!, config);
  await writeFileAtomic(files[1]!, safetensors);
  return files;
}
