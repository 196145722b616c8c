import { InvalidArgumentError, Rng, tf } from '@nutshell/core';
import { Conv2d, Linear, Sequential, Flatten, MaxPool2d } from '@nutshell/nn';
import {
  binomialTest, bitsPerDim, bradleyTerry, cohenKappa, countFlops, distinctN, eloRatings, exactMatch, fleissKappa, gaussianKl,
  jsDivergence, klDivergence, krippendorffAlpha, measureLatency, mmd, parameterStats, peakTensorMemory, percentile, selfBleu,
  sentenceBleu, swdPyramid, wilsonInterval, winRate, likertSummary, pairwiseSampleSize, createRatingTask, importRatings,
} from '@nutshell/metrics';
import { describe, expect, it } from 'vitest';

// Reference values below come from scikit-learn 1.2.1 / scipy 1.10.1 (Debian 12), numpy formulas,
// or published worked examples, as noted.
describe('distributions', () => {
  const p = [0.1, 0.4, 0.5, 0.0];
  const q = [0.2, 0.3, 0.25, 0.25];
  it('KL and JS as scipy.stats.entropy / jensenshannon²', () => {
    expect(klDivergence(p, q)).toBeCloseTo(0.3923317012046905, 14);
    expect(klDivergence(p, q, { base: 2 })).toBeCloseTo(0.5660149997115376, 14);
    expect(jsDivergence(p, q)).toBeCloseTo(0.1199594055600035, 14);
    expect(jsDivergence([1, 2, 3], [3, 2, 1], { base: 2 })).toBeCloseTo(0.12581458369391144, 14);
    // q = 0 where p > 0: ∞ exactly, finite with ε smoothing.
    expect(klDivergence(q, p)).toBe(Infinity);
    const smoothed = klDivergence(q, p, { epsilon: 1e-6 });
    expect(Number.isFinite(smoothed) && smoothed > 2).toBe(true);
    expect(() => klDivergence([0.5, 0.6], [0.5, 0.5], { normalize: false })).toThrow(InvalidArgumentError);
  });
  it('Gaussian KL closed form: 1-D textbook case and zero for equal Gaussians', () => {
    // KL(N(0,1) ‖ N(1,4)) = ln 2 + (1 + 1)/8 − 1/2.
    expect(gaussianKl([0], [1], [1], [4])).toBeCloseTo(Math.log(2) + 2 / 8 - 0.5, 14);
    expect(gaussianKl([1, 2], [3, 4], [1, 2], [3, 4])).toBe(0);
  });
  it('MMD² (RBF, polynomial; unbiased and biased) as numpy formulas', () => {
    const rng = new Rng(0);
    // Inputs are seeded here; the numpy reference was run on the same values (see scripts/mmd-reference in the report).
    const X = [[0.12573, -0.132105, 0.640423], [0.1049, -0.535669, 0.361595], [1.304, 0.947081, -0.703735], [-1.265421, -0.623274, 0.041326], [-2.325031, -0.218792, -1.245911], [-0.732267, -0.544259, -0.3163], [0.411631, 1.042513, -0.128535], [1.366463, -0.665195, 0.35151], [0.90347, 0.094012, -0.743499], [-0.921725, -0.457726, 0.220195], [-1.009618, -0.209176, -0.159225], [0.540846, 0.214659, 0.355373], [-0.653829, -0.129614, 0.783975], [1.493431, -1.259066, 1.513924], [1.345875, 0.781311, 0.264456], [-0.313923, 1.458021, 1.960258], [1.801635, 1.315104, 0.35738], [-1.208319, -0.004454, 0.656475], [-1.288361, 0.395122, 0.429864], [0.696043, -1.184118, -0.661703]];
    const Y = [[0.063565, -0.669802, 2.239368], [0.004089, 0.82897, 0.241427], [2.083473, 1.820361, 1.133353], [-1.70351, 0.552029, 1.183686], [1.503962, -0.117907, 2.322011], [-0.820431, -0.161528, 1.43505], [0.549055, 2.502393, 0.688519], [-0.133194, 0.122436, -0.591146], [-0.77768, 1.130411, 1.081166], [1.794559, -0.254606, 2.189107], [0.212612, 2.074408, 0.067214], [-0.235483, 0.749785, 1.531453], [0.66101, -0.085529, -0.84122], [-0.90152, 1.002683, 1.489713], [0.335705, -0.574365, 1.373042], [-0.780394, -0.213068, 1.121018], [-1.750141, 0.88637, -0.081641], [0.60928, 0.424298, 0.702114], [1.194172, -0.25837, 1.920982], [1.226094, 1.343733, 1.664864], [1.287588, 1.344079, 0.575594], [-0.926774, 0.364955, -0.269515], [-0.922742, 0.758453, -0.068549], [-0.529804, -0.543001, 0.768417], [0.858672, 1.822457, 0.486085]];
    expect(mmd(X, Y, { sigma: 1.3 }).value).toBeCloseTo(0.06629230657115492, 12);
    expect(mmd(X, Y, { sigma: 1.3, estimator: 'biased' }).value).toBeCloseTo(0.12558988510347557, 12);
    expect(mmd(X, Y, { kernel: 'polynomial' }).value).toBeCloseTo(1.1985093612033477, 11);
    const same = Array.from({ length: 30 }, () => [rng.normal(), rng.normal()]);
    expect(mmd(same, same, { estimator: 'biased' }).value).toBeCloseTo(0, 12);
  });
  it('bits per dimension', () => {
    expect(bitsPerDim(784 * Math.LN2, 784)).toBeCloseTo(1, 14);
    // Density nll 0 on [0,1]-scaled 8-bit data = 8 bits/dim of discrete likelihood.
    expect(bitsPerDim(0, 3072, { dequantizationBits: 8 })).toBeCloseTo(8, 14);
  });
});

describe('text diversity and exact match', () => {
  it('distinct-n counts unique n-grams over all n-grams', () => {
    const r = distinctN(['the cat sat', 'the cat ran'], 1);
    expect(r.value).toBeCloseTo(4 / 6, 14);
    expect(distinctN(['the cat sat', 'the cat ran'], 2).value).toBeCloseTo(3 / 4, 14);
  });
  it('self-BLEU averages sacreBLEU sentence BLEU against the other texts', () => {
    const texts = ['the cat sat on the mat', 'a cat sat on a mat', 'dogs run in the park today'];
    const want = texts.reduce((s, h, i) => s + sentenceBleu(h, texts.filter((_, j) => j !== i)).score, 0) / 3;
    expect(selfBleu(texts).value).toBeCloseTo(want, 12);
    expect(selfBleu(['same words here', 'same words here']).value).toBeCloseTo(100, 10);
    expect(() => selfBleu(['one'])).toThrow(InvalidArgumentError);
  });
  it('exact match with SQuAD normalization', () => {
    expect(exactMatch(['The Eiffel Tower!', 'Paris'], [['eiffel tower'], 'London']).value).toBe(0);
    expect(exactMatch(['The Eiffel Tower!', 'Paris'], [['eiffel tower'], 'London'], { normalize: 'squad' }).value).toBe(0.5);
  });
});

describe('human evaluation', () => {
  it("Cohen's κ: Wikipedia's worked example (κ = 0.4) and sklearn's cohen_kappa_score", () => {
    const a = [...Array(20).fill('yes'), ...Array(5).fill('yes'), ...Array(10).fill('no'), ...Array(15).fill('no')];
    const b = [...Array(20).fill('yes'), ...Array(5).fill('no'), ...Array(10).fill('yes'), ...Array(15).fill('no')];
    expect(cohenKappa(a, b)).toBeCloseTo(0.4, 14);
    const x = [0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2, 2, 1, 0, 0, 1];
    const y = [0, 2, 2, 1, 1, 0, 2, 1, 0, 0, 2, 1, 1, 1, 0, 1];
    expect(cohenKappa(x, y)).toBeCloseTo(0.5266272189349113, 14);
    expect(cohenKappa(x, y, { weights: 'linear' })).toBeCloseTo(0.6261682242990654, 14);
    expect(cohenKappa(x, y, { weights: 'quadratic' })).toBeCloseTo(0.736842105263158, 14);
  });
  it("Fleiss' κ: Wikipedia's worked example (10 subjects, 14 raters) κ ≈ 0.210", () => {
    const counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]];
    const r = fleissKappa(counts);
    expect(r.pObserved).toBeCloseTo(0.378, 3);
    expect(r.pExpected).toBeCloseTo(0.213, 3);
    expect(r.kappa).toBeCloseTo(0.210, 3);
  });
  it("Krippendorff's α: Krippendorff (2011) example C, nominal 0.743 and interval 0.849", () => {
    const n = null;
    const data = [
      [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
      [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
      [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
      [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ];
    expect(krippendorffAlpha(data)).toBeCloseTo(0.743, 3);
    expect(krippendorffAlpha(data, { level: 'interval' })).toBeCloseTo(0.849, 3);
    // Perfect agreement → 1.
    expect(krippendorffAlpha([[1, 2, 3], [1, 2, 3]])).toBe(1);
  });
  it('Wilson interval, binomial test (scipy.stats.binomtest), win rate', () => {
    // Wilson 95% for 0/10: [0, 0.2775] (z²/(n+z²) upper bound).
    const w = wilsonInterval(0, 10);
    const z = 1.959963984540054;
    expect(w.high).toBeCloseTo((z * z) / (10 + z * z), 6);
    expect(binomialTest(7, 10)).toBeCloseTo(0.34375, 12);
    expect(binomialTest(60, 100)).toBeCloseTo(0.05688793364098088, 10);
    expect(binomialTest(3, 20, 0.3)).toBeCloseTo(0.22041826738070913, 10);
    const outcomes = [
      ...Array.from({ length: 7 }, () => ({ a: 'x', b: 'y', winner: 'a' as const })),
      ...Array.from({ length: 3 }, () => ({ a: 'y', b: 'x', winner: 'a' as const })),
      { a: 'x', b: 'y', winner: 'tie' as const },
    ];
    const r = winRate(outcomes, 'x');
    expect([r.wins, r.losses, r.ties]).toEqual([7, 3, 1]);
    expect(r.winRate).toBeCloseTo(7.5 / 11, 14);
    expect(r.pValue).toBeCloseTo(0.34375, 12);
  });
  it('Bradley–Terry MLE: two systems give p = wins share; Elo updates by the standard formula', () => {
    const outcomes = [
      ...Array.from({ length: 3 }, () => ({ a: 'A', b: 'B', winner: 'a' as const })),
      { a: 'A', b: 'B', winner: 'b' as const },
    ];
    const bt = bradleyTerry(outcomes);
    const [pa, pb] = bt.strengths;
    expect(pa! / (pa! + pb!)).toBeCloseTo(0.75, 10);
    // Three systems: the MLE satisfies wins_i = Σ_j n_ij p_i / (p_i + p_j).
    const three = [
      ...Array.from({ length: 4 }, () => ({ a: 'A', b: 'B', winner: 'a' as const })), { a: 'A', b: 'B', winner: 'b' as const },
      ...Array.from({ length: 2 }, () => ({ a: 'B', b: 'C', winner: 'a' as const })), { a: 'B', b: 'C', winner: 'b' as const },
      { a: 'A', b: 'C', winner: 'a' as const }, { a: 'A', b: 'C', winner: 'b' as const },
    ];
    const t = bradleyTerry(three);
    const p = Object.fromEntries(t.systems.map((s, i) => [s, t.strengths[i]!]));
    const expectedWinsA = 5 * p['A']! / (p['A']! + p['B']!) + 2 * p['A']! / (p['A']! + p['C']!);
    expect(expectedWinsA).toBeCloseTo(5, 8);
    const elo = eloRatings([{ a: 'A', b: 'B', winner: 'a' }]);
    expect(elo['A']).toBeCloseTo(1016, 10);
    expect(elo['B']).toBeCloseTo(984, 10);
  });
});

describe('efficiency', () => {
  const model = new Sequential(new Conv2d(1, 4, 3, { padding: 1, seed: 0 }), new MaxPool2d(2), new Flatten(), new Linear(4 * 4 * 4, 10, { seed: 0 }));
  it('parameter count and bytes', () => {
    const s = parameterStats(model);
    expect(s.parameters).toBe(4 * 9 + 4 + 64 * 10 + 10);
    expect(s.bytesByDtype['float32']).toBe(4 * s.parameters);
  });
  it('FLOPs of Conv2d and Linear for a given input', () => {
    const x = tf.zeros([2, 8, 8, 1]);
    const f = countFlops(model, x);
    // conv: 2 images × 8×8 outputs × 4 channels × 9 taps; linear: 2 × 64 × 10.
    expect(f.macs).toBe(2 * 64 * 4 * 9 + 2 * 64 * 10);
    expect(f.flops).toBe(2 * f.macs);
    expect(f.byLayer.map((l) => l.type)).toEqual(['Conv2d', 'Linear']);
    x.dispose();
  });
  it('latency percentiles after warm-up, and peak tensor memory', async () => {
    const x = tf.ones([1, 8, 8, 1]);
    let calls = 0;
    const r = await measureLatency(() => {
      calls++;
      return model.forward(x);
    }, { warmup: 2, iterations: 5 });
    expect(calls).toBe(7);
    expect(r.median).toBeGreaterThanOrEqual(r.min);
    expect(r.p95).toBeLessThanOrEqual(r.max);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    const mem = await peakTensorMemory(() => {
      const a = tf.zeros([1000]);
      const b = tf.add(a, 1); // the kernel sees a and b live: 8000 bytes
      a.dispose();
      const c = tf.mul(b, 2); // b and c: 8000 bytes
      b.dispose();
      c.dispose();
    });
    // a and b (or b and c) plus tfjs' 4-byte scalar operands.
    expect(mem.peakNewBytes).toBeGreaterThanOrEqual(8000);
    expect(mem.peakNewBytes).toBeLessThanOrEqual(8016);
    expect(mem.newTensors).toBe(0);
    x.dispose();
  });
});

describe('ProGAN multi-scale sliced Wasserstein distance', () => {
  const rng = new Rng(3);
  const batch = (f: () => number, n = 8, s = 32) => ({ data: Float64Array.from({ length: n * s * s * 3 }, f), shape: [n, s, s, 3] as [number, number, number, number] });
  it('is near 0 for sets from one distribution and grows with a shift in texture', () => {
    const a = batch(() => rng.normal(), 16);
    const b = batch(() => rng.normal(), 16);
    // A scale mixture (every other image 10× brighter noise): after per-channel normalization the
    // patch projections are heavy-tailed instead of Gaussian.
    let k = 0;
    const sparse = batch(() => rng.normal() * (Math.floor(k++ / (32 * 32 * 3)) % 2 ? 10 : 1), 16);
    const opts = { seed: 1, directions: 32 };
    const same = swdPyramid(a, b, opts);
    const diff = swdPyramid(a, sparse, opts);
    expect(same.details!['resolutions']).toEqual([32, 16]);
    expect(diff.value).toBeGreaterThan(3 * same.value);
    expect(swdPyramid(a, b, opts).value).toBe(same.value);
  });
});

describe('rating tasks, Likert, sample size', () => {
  it('Likert summary', () => {
    const s = likertSummary([1, 2, 4, 5, 5, 3]);
    expect(s.mean).toBeCloseTo(20 / 6, 14);
    expect(s.median).toBe(3.5);
    expect(s.counts).toEqual({ 1: 1, 2: 1, 3: 1, 4: 1, 5: 2 });
    expect(s.topBoxShare).toBeCloseTo(3 / 6, 14);
    expect(() => likertSummary([6])).toThrow(InvalidArgumentError);
  });
  it('sample size for a win rate of 0.6 vs 0.5 (α 0.05 two-sided, power 0.8) is 194', () => {
    // ((1.95996·0.5 + 0.84162·√0.24) / 0.1)² = 193.8
    expect(pairwiseSampleSize(0.6)).toBe(194);
    expect(pairwiseSampleSize(0.7)).toBeLessThan(pairwiseSampleSize(0.6));
  });
  it('blinded, order-randomized tasks round-trip through JSON and un-blind correctly', () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ id: `q${i}`, prompt: `prompt ${i}`, outputs: { base: `base answer ${i}`, tuned: `tuned answer ${i}` } }));
    const { task, key } = createRatingTask(items, { seed: 5 });
    const json = JSON.parse(JSON.stringify(task));
    expect(JSON.stringify(json)).not.toMatch(/"base"|"tuned"/); // system names never reach raters
    expect(new Set(task.items.map((t) => t.options[0]!.text.split(' ')[0])).size).toBe(2); // both orders occur
    expect(task.items.map((t) => t.id)).not.toEqual(items.map((t) => t.id)); // items shuffled
    expect(createRatingTask(items, { seed: 5 })).toEqual({ task, key }); // seeded
    // A rater who always prefers the tuned output.
    const responses = json.items.map((t: { id: string; options: { label: string; text: string }[] }) => ({ id: t.id, choice: t.options.find((o) => o.text.startsWith('tuned'))!.label }));
    const outcomes = importRatings(JSON.parse(JSON.stringify(key)), responses);
    expect(winRate(outcomes, 'tuned').winRate).toBe(1);
    expect(() => importRatings(key, [{ id: 'q0', choice: 'C' }])).toThrow(InvalidArgumentError);
  });
});
