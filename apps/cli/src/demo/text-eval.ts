import type { LogitsProcessor, TextTokenizer, TokenScorer } from '@nutshell/core';
import { corpusBleu, perplexityFromLogprobs, rouge } from '@nutshell/metrics';
import { generate, type GenerateOptions, type GPT } from '@nutshell/transformer';
import { createProgress } from '../progress.js';

/** Sampling for the watermark demonstration (seeded, so reruns agree; needs real sampling, not greedy). */
export const SAMPLING = { temperature: 0.7, topK: 12 } as const;

/**
 * Sampling for definitions, chosen on 24 held-out words (apps/cli/bench/gloss-recipe.mjs --sampling):
 * with the demo's minutes-old BPE model, temperature 0.3 repeats the commonest tokens ("a a a the"),
 * while temperature 0.8, top-k 40 and a repetition penalty of 1.3 gave the best ROUGE-1/ROUGE-L
 * (0.110/0.093 against 0.047/0.047) at 3× the BLEU.
 */
export const DEFINITION_SAMPLING: SamplingSettings = { temperature: 0.8, topK: 40, repetitionPenalty: 1.3 };

export type SamplingSettings = Pick<GenerateOptions, 'greedy' | 'temperature' | 'topK' | 'topP' | 'repetitionPenalty'>;

export interface Definition {
  word: string;
  generated: string;
  reference: string;
}

/** "\nword:" → the model's definition, up to the end of the line. */
export async function defineWords(
  model: GPT,
  tokenizer: TextTokenizer,
  words: readonly { word: string; gloss: string }[],
  o: { seed: number; maxNewTokens: number; label: string; logitsProcessors?: LogitsProcessor[]; sampling?: SamplingSettings },
): Promise<Definition[]> {
  const progress = createProgress({ label: o.label, total: words.length });
  const out: Definition[] = [];
  for (const [i, w] of words.entries()) {
    // The prompt starts a line, as every "word: gloss" line does in training.
    const r = await generate(model, `\n${w.word}:`, { tokenizer, maxNewTokens: o.maxNewTokens, ...(o.sampling ?? DEFINITION_SAMPLING), seed: `${o.seed}/${w.word}`, stop: ['\n'], logitsProcessors: o.logitsProcessors });
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

export interface LinePerplexity {
  /** Per token: exp(mean NLL over the scored tokens). */
  perplexity: number;
  meanNll: number;
  tokens: number;
  /** Per character: the same total NLL over the characters those tokens spell (comparable across tokenizers). */
  charPerplexity: number;
  charNll: number;
  chars: number;
}

/**
 * Perplexity of text lines (each scored from its start, ending in "\n") under a TokenScorer, per
 * token and per character. The first token of a line has no context and is not scored, so its
 * characters are left out of the per-character count too.
 */
export async function linePerplexity(scorer: TokenScorer, tokenizer: TextTokenizer, lines: readonly string[]): Promise<LinePerplexity> {
  const seqs = lines.map((l) => tokenizer.encode(`${l}\n`)).filter((s) => s.length >= 2);
  const lps = await scorer.scoreTokens(seqs);
  const r = perplexityFromLogprobs(lps);
  let chars = 0;
  for (const s of seqs) chars += [...tokenizer.decode(s.slice(1))].length;
  const charNll = (r.mean_nll * r.token_count) / Math.max(1, chars);
  return { perplexity: r.perplexity, meanNll: r.mean_nll, tokens: r.token_count, charPerplexity: Math.exp(charNll), charNll, chars };
}
