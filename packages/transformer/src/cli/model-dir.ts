import { InvalidArgumentError, type TextTokenizer } from '@nutshell/core';
import { loadGpt2 } from '../models/gpt/hf.js';
import type { GPT } from '../models/gpt/model.js';
import { loadTokenizer } from '../tokenizers/files.js';

/** A model folder: HF GPT-2 layout (config.json + model.safetensors), optionally with tokenizer files. */
export async function openModelDir(dir: unknown, needTokenizer: boolean): Promise<{ model: GPT; tokenizer?: TextTokenizer }> {
  if (typeof dir !== 'string' || !dir) throw new InvalidArgumentError('give --model DIR (a folder with config.json and model.safetensors)');
  const model = await loadGpt2(dir);
  if (!needTokenizer) return { model };
  try {
    return { model, tokenizer: await loadTokenizer(dir) };
  } catch (e) {
    model.dispose();
    throw new InvalidArgumentError(`${dir} has no tokenizer files (tokenizer.json, vocab.json + merges.txt or char-tokenizer.json), so text cannot be used; pass --ids instead (${(e as Error).message})`);
  }
}

/** "5,17,42" or "5 17 42" → ids. */
export function parseIds(value: unknown, what = '--ids'): number[] {
  const parts = String(value).split(/[\s,]+/).filter(Boolean);
  if (!parts.length) throw new InvalidArgumentError(`${what}: expected token ids separated by commas, got ${JSON.stringify(value)}`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidArgumentError(`${what}: ${JSON.stringify(p)} is not a token id`);
    return Number(p);
  });
}

export function intOption(options: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = options[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function numOption(options: Record<string, unknown>, name: string): number | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`--${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}
