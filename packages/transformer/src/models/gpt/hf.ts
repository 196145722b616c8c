import { FormatError, InvalidArgumentError, parseSafetensors, rawToTensor, saveSafetensors, type Tensor } from '@nutshell/core';
import { StateDictError, writeFileAtomic } from '@nutshell/nn';
import { configFromHf, configToHf } from './config.js';
import { GPT } from './model.js';

/** Buffers old GPT-2 checkpoints carry (the causal mask); not parameters. */
const IGNORED = /\.attn\.(bias|masked_bias)$/;

/**
 * Maps a GPT-2 state dict's names onto GPT's: the hub's original checkpoints have no `transformer.`
 * prefix (they were saved from GPT2Model), save_pretrained of GPT2LMHeadModel has it.
 */
function hfKey(key: string): string | null {
  if (IGNORED.test(key)) return null;
  if (key.startsWith('transformer.') || key.startsWith('lm_head.')) return key;
  return `transformer.${key}`;
}

/** Builds a GPT from a parsed GPT-2 `config.json` object and `model.safetensors` bytes. */
export function gpt2FromBytes(config: Record<string, unknown>, safetensors: Uint8Array): GPT {
  const cfg = configFromHf(config);
  const parsed = parseSafetensors(safetensors);
  const model = new GPT(cfg, { seed: 0 });
  const dict: Record<string, Tensor> = {};
  try {
    for (const [key, raw] of Object.entries(parsed.tensors)) {
      const k = hfKey(key);
      if (!k) continue;
      if (k === 'lm_head.weight' && cfg.tieWeights) continue; // the tied head is wte
      dict[k] = rawToTensor(raw, key);
    }
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError) throw new FormatError('GPT-2 safetensors', `${e.message.replace(/^loadStateDict: /, '')} (for config n_layer=${cfg.nLayer}, n_embd=${cfg.nEmbd}, vocab_size=${cfg.vocabSize})`);
    throw e;
  } finally {
    for (const t of Object.values(dict)) t.dispose();
  }
  model.eval();
  return model;
}

/** The files of a GPT in Hugging Face GPT-2 layout: `config.json` text and `model.safetensors` bytes. */
export function gpt2ToBytes(model: GPT, extraConfig: Record<string, unknown> = {}): { config: string; safetensors: Uint8Array } {
  // stateDict lists a shared variable once, under wte: exactly HF's tied save (no lm_head.weight).
  const sd = model.stateDict();
  const config = `${JSON.stringify(configToHf(model.config, extraConfig), null, 2)}\n`;
  return { config, safetensors: saveSafetensors(sd, { metadata: { format: 'pt' } }) };
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`loadGpt2: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const j = JSON.parse(text) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not a JSON object');
    return j as Record<string, unknown>;
  } catch (e) {
    throw new FormatError('config.json', `${path}: ${(e as Error).message}`);
  }
}

/** Loads `config.json` + `model.safetensors` (Hugging Face GPT-2 layout) from a folder. Node only. */
export async function loadGpt2(dir: string): Promise<GPT> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const config = await readJson(join(dir, 'config.json'));
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(join(dir, 'model.safetensors')));
  } catch (e) {
    throw new InvalidArgumentError(`loadGpt2: cannot read ${join(dir, 'model.safetensors')}: ${(e as Error).message}`);
  }
  return gpt2FromBytes(config, bytes);
}

/** Writes `config.json` + `model.safetensors` in Hugging Face GPT-2 layout (atomic writes). Node only. */
export async function saveGpt2(model: GPT, dir: string, extraConfig: Record<string, unknown> = {}): Promise<string[]> {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const { config, safetensors } = gpt2ToBytes(model, extraConfig);
  const files = [join(dir, 'config.json'), join(dir, 'model.safetensors')];
  await writeFileAtomic(files[0]!, config);
  await writeFileAtomic(files[1]!, safetensors);
  return files;
}
