import type { TextTokenizer, TokenScorer } from '@nutshell/core';
import * as ethics from '@nutshell/ethics-audit';
import { detectWatermark, GreenListWatermark } from '@nutshell/ethics-audit';
import { generate, type GPT } from '@nutshell/transformer';
import { createProgress } from '../progress.js';
import { SAMPLING } from './text-eval.js';

export interface WatermarkResult {
  key: string;
  prompt: string;
  tokens: number;
  watermarked: { text: string; z: number; greenFraction: number; detected: boolean };
  plain: { text: string; z: number; greenFraction: number; detected: boolean };
  threshold: number;
}

/**
 * Kirchenbauer et al.'s green-list watermark as a logits processor during generation, then
 * detection (z-score over the generated tokens) on the watermarked text and, as the control, on
 * text sampled with the same seed without the watermark.
 */
export async function watermarkCheck(model: GPT, tokenizer: TextTokenizer, o: { seed: number; prompt: string; maxNewTokens: number }): Promise<WatermarkResult> {
  const progress = createProgress({ label: 'watermark', total: 2 });
  const key = `nutshell-demo-${o.seed}`;
  const vocabSize = tokenizer.vocabSize;
  const wm = new GreenListWatermark({ key, vocabSize });
  const prompt = tokenizer.encode(o.prompt);
  const run = async (processors: GreenListWatermark[]) => {
    const r = await generate(model, prompt, { tokenizer, maxNewTokens: o.maxNewTokens, ...SAMPLING, seed: `${o.seed}/watermark`, logitsProcessors: processors });
    const d = detectWatermark(r.sequence, { key, vocabSize, promptLength: prompt.length });
    return { text: tokenizer.decode(r.ids), z: d.z, greenFraction: d.green_fraction, detected: d.detected, tokens: r.ids.length, threshold: d.threshold };
  };
  const marked = await run([wm]);
  progress.update(1);
  const plain = await run([]);
  progress.done();
  const strip = ({ tokens: _t, threshold: _h, ...rest }: typeof marked) => rest;
  return { key, prompt: o.prompt, tokens: marked.tokens, watermarked: strip(marked), plain: strip(plain), threshold: marked.threshold };
}

export interface BiasProbeResult {
  available: boolean;
  note: string;
  groups?: string[];
  meanLogProb?: Record<string, number>;
  meanGap?: Record<string, number>;
  preferenceRate?: number;
  cases?: number;
}

type ProbeFn = (scorer: TokenScorer, tokenizer: TextTokenizer) => Promise<{ groups: string[]; meanLogProb: Record<string, number>; meanGap: Record<string, number>; preferenceRate: number; cases: number }>;

/**
 * ethics-audit's counterfactual template probe (the same sentences about "She"/"He", "The
 * woman"/"The man", …, scored by the model). Looked up at run time so the demo still runs, with a
 * note, against an ethics-audit build without it.
 */
export async function biasProbe(model: GPT, tokenizer: TextTokenizer): Promise<BiasProbeResult> {
  const probe = (ethics as unknown as Record<string, unknown>).counterfactualProbe as ProbeFn | undefined;
  if (typeof probe !== 'function') return { available: false, note: 'skipped: this @nutshell/ethics-audit has no counterfactualProbe' };
  const r = await probe(model, tokenizer);
  return {
    available: true,
    note: 'counterfactual template probe (gendered terms swapped in the same sentences; log-probabilities of the rest of the sentence). A character model trained on dictionary glosses for a minute says little about bias; the probe shows the check, not a verdict.',
    groups: r.groups,
    meanLogProb: r.meanLogProb,
    meanGap: r.meanGap,
    preferenceRate: r.preferenceRate,
    cases: r.cases,
  };
}
