import type { LogitsProcessor, TextTokenizer, TokenScorer } from '@nutshell/core';
import { corpusBleu, perplexityFromLogprobs, rouge } from '@nutshell/metrics';
import { generate, type GenerateOptions, type GPT } from '@nutshell/transformer';
import { createProgress } from '../progress.js';

/** Sampling for the watermark demonstration (seeded, so reruns agree; needs real sampling, not greedy). */
export const SAMPLING = { temperature: 0.7, topK: 12 } as const;

/**
 * Sampling for definitions, chosen by ROUGE on 24 held-out words (apps/cli/bench/gloss-recipe.mjs
 * --sampling): with a minutes-old character model, temperature 0.3 doubled ROUGE-L against 0.7/top-k 12
 * at equal BLEU; greedy decoding loops ("a a anthe a a").
 */
export const DEFINITION_SAMPLING: SamplingSettings = { temperature: 0.3 };

export type SamplingSettings = Pick<GenerateOptions, 'greedy' | 'temperature' | 'topK' | 'topP' | 'repetitionPenalty'>;

export interface Definition {
  word: string;
  generated: string;
  reference: string;
}

/** "word:" → the model's definition, up to the end of the line. */
export async function defineWords(
  model: GPT,
  tokenizer: TextTokenizer,
  words: readonly { word: string; gloss: string }[],
  o: { seed: number; maxNewTokens: number; label: string; logitsProcessors?: LogitsProcessor[]; sampling?: SamplingSettings },
): Promise<Definition[]> {
  const progress = createProgress({ label: o.label, total: words.length });
  const out: Definition[] = [];
  for (const [i, w] of words.entries()) {
    const r = await generate(model, `${w.word}:`, { tokenizer, maxNewTokens: o.maxNewTokens, ...(o.sampling ?? DEFINITION_SAMPLING), seed: `${o.seed}/${w.word}`, stop: ['\n'], logitsProcessors: o.logitsProcessors });
    out.push({ word: w.word, generated: (r.text ?? '').trim(), reference: w.gloss });
    progress.update(i + 1, { word: w.word });
  }
  progress.done();
  return out;
}

export interface TextScores {
  bleu: number;
  bleuSignature: string;
  rouge1: number;
  rouge2: number;
  rougeL: number;
}

/** sacreBLEU-exact corpus BLEU and rouge-score ROUGE (F-measure, stemmed, mean over words). */
export function scoreDefinitions(defs: readonly Definition[]): TextScores {
  const hyps = defs.map((d) => d.generated);
  const bleu = corpusBleu(hyps, [defs.map((d) => d.reference)]);
  const sums = { rouge1: 0, rouge2: 0, rougeL: 0 };
  for (const d of defs) {
    const r = rouge(d.reference, d.generated, { types: ['rouge1', 'rouge2', 'rougeL'], stem: true });
    sums.rouge1 += r.rouge1!.fmeasure;
    sums.rouge2 += r.rouge2!.fmeasure;
    sums.rougeL += r.rougeL!.fmeasure;
  }
  const n = Math.max(1, defs.length);
  return { bleu: bleu.score, bleuSignature: bleu.signature, rouge1: sums.rouge1 / n, rouge2: sums.rouge2 / n, rougeL: sums.rougeL / n };
}

/** Per-character perplexity and mean loss (nats) of text lines under a TokenScorer. */
export async function linePerplexity(scorer: TokenScorer, tokenizer: TextTokenizer, lines: readonly string[]): Promise<{ perplexity: number; meanNll: number; tokens: number }> {
  const seqs = lines.map((l) => tokenizer.encode(`${l}\n`)).filter((s) => s.length >= 2);
  const lps = await scorer.scoreTokens(seqs);
  const r = perplexityFromLogprobs(lps);
  return { perplexity: r.perplexity, meanNll: r.mean_nll, tokens: r.token_count };
}
