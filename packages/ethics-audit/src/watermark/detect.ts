import { InvalidArgumentError, describe, type TextTokenizer } from '@nutshell/core';
import { normalCdf } from '../privacy/special.js';
import { GreenLists, checkWatermarkConfig } from './green-list.js';

export interface DetectOptions {
  key: string;
  vocabSize: number;
  gamma?: number;
  /** Leading tokens that are the prompt: they give context but are not scored (default 0). */
  promptLength?: number;
  /** Score each (previous, current) bigram once, so repeated text can't inflate z. */
  ignoreRepeatedNgrams?: boolean;
  /** Detection threshold on z (paper: 4). */
  zThreshold?: number;
}

export interface WatermarkDetection {
  z: number;
  green_fraction: number;
  green: number;
  scored: number;
  /** One-sided p-value 1 − Φ(z) under "no watermark". */
  p_value: number;
  detected: boolean;
  threshold: number;
}

// Detection usually repeats with one key; keep a few green-list caches warm.
const recent = new Map<string, GreenLists>();
function listsFor(key: string, vocabSize: number, gamma: number): GreenLists {
  const id = JSON.stringify([key, vocabSize, gamma]);
  let l = recent.get(id);
  if (!l) {
    l = new GreenLists(key, vocabSize, gamma, 4096);
    recent.set(id, l);
    if (recent.size > 4) recent.delete(recent.keys().next().value!);
  }
  return l;
}

/**
 * The green-list z-test: among the scored (generated) tokens, count those on the green list of their
 * predecessor; z = (|s|_G − γT) / √(Tγ(1 − γ)).
 */
export function detectWatermark(tokens: readonly number[], options: DetectOptions): WatermarkDetection {
  const cfg = checkWatermarkConfig('detectWatermark', { ...options, delta: 0 });
  if (!Array.isArray(tokens)) throw new InvalidArgumentError(`detectWatermark: tokens must be an array of token ids, got ${describe(tokens)}`);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t! < 0 || t! >= cfg.vocabSize) throw new InvalidArgumentError(`detectWatermark: token ${i} is ${describe(t)}, not an id below vocabSize ${cfg.vocabSize}`);
  }
  const promptLength = options.promptLength ?? 0;
  if (!Number.isInteger(promptLength) || promptLength < 0) throw new InvalidArgumentError(`detectWatermark: promptLength must be an integer >= 0, got ${describe(promptLength)}`);
  const threshold = options.zThreshold ?? 4;
  const lists = listsFor(cfg.key, cfg.vocabSize, cfg.gamma);
  const seen = new Set<string>();
  let scored = 0, green = 0;
  for (let i = Math.max(1, promptLength); i < tokens.length; i++) {
    if (options.ignoreRepeatedNgrams) {
      const k = `${tokens[i - 1]},${tokens[i]}`;
      if (seen.has(k)) continue;
      seen.add(k);
    }
    scored++;
    if (lists.isGreen(tokens[i - 1]!, tokens[i]!)) green++;
  }
  // The green list holds ⌊γV⌋ tokens, so that is the null rate.
  const g = lists.size / cfg.vocabSize;
  const z = scored === 0 ? 0 : (green - g * scored) / Math.sqrt(scored * g * (1 - g));
  return { z, green_fraction: scored ? green / scored : 0, green, scored, p_value: 1 - normalCdf(z), detected: scored > 0 && z > threshold, threshold };
}

/** Tokenizes text and runs the z-test over all of its tokens (the text is taken as generated). */
export function detectWatermarkText(text: string, tokenizer: TextTokenizer, options: Omit<DetectOptions, 'vocabSize'> & { vocabSize?: number }): WatermarkDetection {
  return detectWatermark(tokenizer.encode(text), { ...options, vocabSize: options.vocabSize ?? tokenizer.vocabSize });
}

/** A byte-level tokenizer (UTF-8 bytes, vocabulary 256), always available. */
export const byteTokenizer: TextTokenizer = {
  vocabSize: 256,
  encode: (text) => [...new TextEncoder().encode(text)],
  decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids)),
};
