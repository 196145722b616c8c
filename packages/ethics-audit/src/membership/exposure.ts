import { InvalidArgumentError, describe, type TokenScorer } from '@nutshell/core';
import { normalCdf } from '../privacy/special.js';

export interface ExposureResult {
  /** Exposure from the exact rank: log2 |R| − log2 rank (Carlini et al. 2019, "The Secret Sharer"). */
  exposure: number;
  /** 1-based rank of the canary among the canary and the candidates (1 = most likely). */
  rank: number;
  /** Candidates compared against (|R| − 1). */
  candidates: number;
  /** log2 |R|: the largest exposure this candidate set can show. */
  maxExposure: number;
  /** Exposure extrapolated from a normal fit of the candidates' log-perplexities: −log2 Φ((x_canary − μ)/σ). */
  estimatedExposure: number;
  /** Log-perplexity (negative log-likelihood, nats) of the canary's secret part. */
  canaryLogPerplexity: number;
}

/** Sum of −log p over the scored tokens from index `from` (token positions in the sequence). */
function logPerplexity(scores: Float32Array, from: number): number {
  let s = 0;
  // scores[i] is log p(token i+1 | prefix): the secret starts at token `from`, i.e. score index from − 1.
  for (let i = Math.max(0, from - 1); i < scores.length; i++) s -= scores[i]!;
  return s;
}

/**
 * Canary exposure (Carlini et al. 2019): insert a random secret ("my PIN is 4 8 1 9") into the
 * training data; after training, rank its log-perplexity among other random secrets of the same
 * format. Exposure = log2 |R| − log2 rank; ≈ 1 bit means not memorised, log2 |R| means the canary
 * is the model's top guess. `prefixLength` tokens of each sequence (the shared prefix) are not scored.
 */
export async function canaryExposure(scorer: TokenScorer, input: { canary: readonly number[]; candidates: readonly (readonly number[])[]; prefixLength?: number; batchSize?: number }): Promise<ExposureResult> {
  const { canary, candidates } = input;
  if (!scorer || typeof scorer.scoreTokens !== 'function') throw new InvalidArgumentError(`canaryExposure: expected a TokenScorer, got ${describe(scorer)}`);
  if (!Array.isArray(canary) || canary.length < 2) throw new InvalidArgumentError('canaryExposure: the canary needs at least 2 tokens');
  if (!Array.isArray(candidates) || candidates.length === 0) throw new InvalidArgumentError('canaryExposure: give at least one candidate secret');
  const prefix = input.prefixLength ?? 0;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix >= canary.length) throw new InvalidArgumentError(`canaryExposure: prefixLength must be in [0, ${canary.length - 1}], got ${describe(prefix)}`);
  const all = [canary, ...candidates];
  const bs = input.batchSize ?? 64;
  const ppl: number[] = [];
  for (let s = 0; s < all.length; s += bs) {
    const scores = await scorer.scoreTokens(all.slice(s, s + bs));
    for (const sc of scores) ppl.push(logPerplexity(sc, prefix));
  }
  const x = ppl[0]!;
  const others = ppl.slice(1);
  // Ties count against the canary (conservative: lower exposure).
  const rank = 1 + others.filter((v) => v <= x).length;
  const R = all.length;
  const mu = others.reduce((a, v) => a + v, 0) / others.length;
  const sd = Math.sqrt(others.reduce((a, v) => a + (v - mu) ** 2, 0) / Math.max(1, others.length - 1));
  const tail = sd > 0 ? normalCdf((x - mu) / sd) : x < mu ? 0 : 1;
  return {
    exposure: Math.log2(R) - Math.log2(rank), rank, candidates: others.length, maxExposure: Math.log2(R),
    estimatedExposure: tail > 0 ? -Math.log2(tail) : Infinity, canaryLogPerplexity: x,
  };
}

/** Random secrets of a format: `prefix` followed by `length` tokens drawn from `alphabet` (e.g. digit token ids). */
export function randomSecrets(prefix: readonly number[], alphabet: readonly number[], length: number, count: number, uniform: () => number): number[][] {
  if (!alphabet.length || !(length > 0) || !(count > 0)) throw new InvalidArgumentError('randomSecrets: need a non-empty alphabet, length > 0 and count > 0');
  return Array.from({ length: count }, () => [...prefix, ...Array.from({ length }, () => alphabet[Math.floor(uniform() * alphabet.length)]!)]);
}
