import type { TokenScorer } from '@nutshell/core';
import { compareToReference, klDivergenceFromLogits, perplexity, perplexityFromLogprobs, scoreWithWindow } from '@nutshell/metrics';
import { describe, expect, it } from 'vitest';

/** A bigram "model": log p(t | prev) depends on the previous token only, so windows do not matter. */
function bigramScorer(vocab: number, calls: number[][] = []): TokenScorer {
  const lp = (prev: number, t: number) => Math.log(((prev * 7 + t * 3) % vocab) + 1) - Math.log((vocab * (vocab + 1)) / 2);
  return {
    vocabSize: vocab,
    async scoreTokens(seqs) {
      return seqs.map((s) => {
        calls.push([...s]);
        return Float32Array.from(s.slice(1), (t, i) => lp(s[i]!, t));
      });
    },
  };
}

describe('perplexity', () => {
  it('exp of the mean NLL over unmasked tokens', () => {
    const r = perplexityFromLogprobs([[Math.log(0.5), Math.log(0.25)], [Math.log(0.125)]], [[1, 1], [0]]);
    expect(r.token_count).toBe(2);
    expect(r.mean_nll).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 12);
    expect(r.perplexity).toBeCloseTo(Math.sqrt(8), 12);
    expect(() => perplexityFromLogprobs([[0.5]])).toThrow(/≤ 0/);
    expect(() => perplexityFromLogprobs([[-1]], [[1], [1]])).toThrow(/one row per sequence/);
  });

  it('sliding window scores every token once and matches the full pass for a bigram model', async () => {
    const seq = Array.from({ length: 23 }, (_, i) => (i * 5) % 11);
    const calls: number[][] = [];
    const windowed = await scoreWithWindow(bigramScorer(11, calls), [seq], { windowSize: 8, stride: 5 });
    const full = await scoreWithWindow(bigramScorer(11), [seq]);
    expect(Array.from(windowed[0]!)).toEqual(Array.from(full[0]!));
    expect(calls.every((c) => c.length <= 8)).toBe(true);
    expect(calls.length).toBe(4);
    const r = await perplexity(bigramScorer(11), [seq], { windowSize: 8, stride: 5 });
    expect(r.value).toBeCloseTo(perplexityFromLogprobs(full).perplexity, 10);
    expect(r.details!['token_count']).toBe(22);
  });

  it('compares a model with its reference', async () => {
    const ref = bigramScorer(11);
    const same = await compareToReference(ref, ref, [[1, 2, 3, 4]]);
    expect(same.ppl_ratio).toBeCloseTo(1, 12);
    expect(same.mean_logprob_gap).toBe(0);
    const kl = klDivergenceFromLogits([[0, 0], [1, 2]], [[0, 0], [2, 1]]);
    // KL of softmax([1,2]) from softmax([2,1]) = (p2 − p1)·1 with p = softmax([1, 2]).
    const p2 = 1 / (1 + Math.exp(-1));
    expect(kl.max).toBeCloseTo((2 * p2 - 1) * 1, 12);
    expect(kl.mean).toBeCloseTo(kl.max / 2, 12);
    expect(kl.top1_agreement).toBe(0.5);
  });
});
