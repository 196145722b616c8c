import { InvalidArgumentError, type MetricResult, type TokenScorer } from '@nutshell/core';

export interface PerplexityResult {
  perplexity: number;
  mean_nll: number;
  token_count: number;
}

/**
 * Corpus perplexity from per-token natural-log probabilities: exp of the mean negative log-likelihood
 * over the unmasked tokens (mask value 0 drops a token, e.g. padding).
 */
export function perplexityFromLogprobs(
  tokenLogprobs: readonly ArrayLike<number>[],
  mask?: readonly ArrayLike<number | boolean>[],
): PerplexityResult {
  if (!Array.isArray(tokenLogprobs)) throw new InvalidArgumentError('perplexity: token_logprobs must be an array of per-sequence arrays');
  if (mask !== undefined && (!Array.isArray(mask) || mask.length !== tokenLogprobs.length)) {
    throw new InvalidArgumentError(`perplexity: mask must have one row per sequence (${tokenLogprobs.length}), got ${Array.isArray(mask) ? mask.length : typeof mask}`);
  }
  let nll = 0;
  let count = 0;
  tokenLogprobs.forEach((row, s) => {
    if (!row || typeof row.length !== 'number') throw new InvalidArgumentError(`perplexity: sequence ${s} is not an array of numbers`);
    const m = mask?.[s];
    if (m && m.length !== row.length) throw new InvalidArgumentError(`perplexity: mask row ${s} has ${m.length} entries, sequence has ${row.length}`);
    for (let t = 0; t < row.length; t++) {
      if (m && !m[t]) continue;
      const lp = row[t]!;
      if (typeof lp !== 'number' || Number.isNaN(lp) || lp > 1e-6) {
        throw new InvalidArgumentError(`perplexity: log-probability at sequence ${s}, token ${t} is ${lp} (must be a number ≤ 0)`);
      }
      nll -= lp;
      count++;
    }
  });
  if (count === 0) throw new InvalidArgumentError('perplexity: no unmasked tokens');
  const meanNll = nll / count;
  return { perplexity: Math.exp(meanNll), mean_nll: meanNll, token_count: count };
}

export interface SlidingWindowOptions {
  /** Longest context the model takes (tokens). Default: the whole sequence. */
  windowSize?: number;
  /** Tokens the window advances each step (default windowSize: no overlap). Tokens already scored are not scored again. */
  stride?: number;
}

/**
 * Per-token log-probabilities of each sequence from a TokenScorer, with a sliding window for sequences
 * longer than the model's context (Hugging Face's strided perplexity recipe): every token from the
 * second on is scored exactly once, by the first window that reaches it, with up to
 * windowSize − stride tokens of earlier context.
 */
export async function scoreWithWindow(scorer: TokenScorer, sequences: readonly (readonly number[])[], options: SlidingWindowOptions = {}): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const [s, seq] of sequences.entries()) {
    if (!Array.isArray(seq) || seq.length < 2) throw new InvalidArgumentError(`perplexity: sequence ${s} needs at least 2 tokens, got ${Array.isArray(seq) ? seq.length : typeof seq}`);
    const window = options.windowSize ?? seq.length;
    const stride = options.stride ?? window;
    if (!Number.isInteger(window) || window < 2) throw new InvalidArgumentError(`perplexity: windowSize must be an integer ≥ 2, got ${window}`);
    if (!Number.isInteger(stride) || stride < 1 || stride > window) throw new InvalidArgumentError(`perplexity: stride must be an integer in [1, windowSize], got ${stride}`);
    const logprobs = new Float64Array(seq.length - 1);
    let scoredUpTo = 1; // tokens [1, scoredUpTo) are done
    for (let begin = 0; scoredUpTo < seq.length; begin += stride) {
      const end = Math.min(begin + window, seq.length);
      const [lp] = await scorer.scoreTokens([seq.slice(begin, end)]);
      if (!lp || lp.length !== end - begin - 1) throw new InvalidArgumentError(`perplexity: scorer returned ${lp?.length} log-probabilities for a window of ${end - begin} tokens`);
      for (let t = Math.max(scoredUpTo, begin + 1); t < end; t++) logprobs[t - 1] = lp[t - begin - 1]!;
      scoredUpTo = end;
      if (end === seq.length) break;
    }
    out.push(logprobs);
  }
  return out;
}

/** Corpus perplexity of token sequences under a TokenScorer, as a MetricResult. */
export async function perplexity(scorer: TokenScorer, sequences: readonly (readonly number[])[], options: SlidingWindowOptions = {}): Promise<MetricResult> {
  const lps = await scoreWithWindow(scorer, sequences, options);
  const r = perplexityFromLogprobs(lps);
  return {
    name: 'perplexity',
    value: r.perplexity,
    higherIsBetter: false,
    signature: `ppl|window:${options.windowSize ?? 'full'}|stride:${options.stride ?? options.windowSize ?? 'full'}`,
    details: { ...r },
  };
}

export interface ReferenceComparison {
  reference: PerplexityResult;
  candidate: PerplexityResult;
  /** candidate perplexity / reference perplexity. */
  ppl_ratio: number;
  /**
   * Mean of log p_ref(t) − log p_cand(t) over the scored tokens. On text sampled from the reference
   * model this estimates KL(ref ‖ cand); on fixed text it is the cross-entropy gap.
   */
  mean_logprob_gap: number;
  /** Share of tokens where the candidate gives the observed token a higher probability. */
  same_or_better: number;
}

/**
 * llama.cpp-style comparison of a model with its original (e.g. a quantized model against the fp32
 * one): perplexity of both on the same sequences and the token-level log-probability gap. TokenScorer
 * returns only the observed token's probability, so the true per-position KL over the vocabulary
 * needs full distributions: see `klDivergenceFromLogits`.
 */
export async function compareToReference(
  reference: TokenScorer,
  candidate: TokenScorer,
  sequences: readonly (readonly number[])[],
  options: SlidingWindowOptions = {},
): Promise<ReferenceComparison> {
  const a = await scoreWithWindow(reference, sequences, options);
  const b = await scoreWithWindow(candidate, sequences, options);
  let gap = 0;
  let better = 0;
  let n = 0;
  a.forEach((row, s) => {
    for (let t = 0; t < row.length; t++) {
      gap += row[t]! - b[s]![t]!;
      if (b[s]![t]! >= row[t]!) better++;
      n++;
    }
  });
  const ra = perplexityFromLogprobs(a);
  const rb = perplexityFromLogprobs(b);
  return { reference: ra, candidate: rb, ppl_ratio: rb.perplexity / ra.perplexity, mean_logprob_gap: gap / n, same_or_better: better / n };
}

function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - max);
  const lse = max + Math.log(s);
  return Float64Array.from(row, (v) => v - lse);
}

/**
 * Per-position KL(P_ref ‖ P_cand) from full next-token logits (one row per position, rows of the
 * two models aligned), summarized as llama.cpp's --kl-divergence does: mean, median, max, p99, and the
 * share of positions where both models' top token agrees.
 */
export function klDivergenceFromLogits(
  referenceLogits: readonly ArrayLike<number>[],
  candidateLogits: readonly ArrayLike<number>[],
): { mean: number; median: number; p99: number; max: number; top1_agreement: number; positions: number } {
  if (referenceLogits.length !== candidateLogits.length || referenceLogits.length === 0) {
    throw new InvalidArgumentError(`klDivergenceFromLogits: need the same non-zero number of rows, got ${referenceLogits.length} and ${candidateLogits.length}`);
  }
  const kls = new Float64Array(referenceLogits.length);
  let agree = 0;
  referenceLogits.forEach((r, i) => {
    const c = candidateLogits[i]!;
    if (r.length !== c.length) throw new InvalidArgumentError(`klDivergenceFromLogits: row ${i} has vocab ${r.length} vs ${c.length}`);
    const lp = logSoftmax(r);
    const lq = logSoftmax(c);
    let kl = 0;
    let ap = 0;
    let aq = 0;
    for (let j = 0; j < lp.length; j++) {
      kl += Math.exp(lp[j]!) * (lp[j]! - lq[j]!);
      if (lp[j]! > lp[ap]!) ap = j;
      if (lq[j]! > lq[aq]!) aq = j;
    }
    kls[i] = Math.max(kl, 0);
    if (ap === aq) agree++;
  });
  const sorted = Float64Array.from(kls).sort();
  const q = (p: number) => {
    const pos = p * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  };
  return {
    mean: kls.reduce((a, b) => a + b, 0) / kls.length,
    median: q(0.5),
    p99: q(0.99),
    max: sorted[sorted.length - 1]!,
    top1_agreement: agree / kls.length,
    positions: kls.length,
  };
}
