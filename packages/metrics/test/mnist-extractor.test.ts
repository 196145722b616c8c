import { InvalidArgumentError, Rng, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { loadMnist } from '@nutshell/datasets';
import { fid, inceptionScore, mnistFeatureExtractor, mnistFid, mnistIs, MnistFeatureExtractor } from '@nutshell/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The shipped network on the held-out digits of loadMnist()'s default split (never trained on).
let ex: MnistFeatureExtractor;
let test: Awaited<ReturnType<typeof loadMnist>>['test'];
const N = 600;
let probs: { rows: number; cols: number; data: Float64Array } | undefined;
beforeAll(async () => {
  ex = await mnistFeatureExtractor();
  test = (await loadMnist()).test;
});
afterAll(() => ex.dispose());

const digits = (from: number, count: number) => test.x.subarray(from * 784, (from + count) * 784);
/** Images at the given indices (the split is stored class by class, so samples must stride across it). */
const pick = (indices: number[]) => {
  const out = new Float32Array(indices.length * 784);
  indices.forEach((i, k) => out.set(test.x.subarray(i * 784, (i + 1) * 784), k * 784));
  return out;
};
const spread = (count: number, offset = 0) => Array.from({ length: count }, (_, k) => Math.floor((k * test.length) / count) + offset);

describe('shipped MNIST feature network', () => {
  it('classifies held-out digits (test split of loadMnist(), seed 0)', () => {
    const idx = spread(N);
    probs = ex.probabilities(pick(idx));
    let hits = 0;
    idx.forEach((i, k) => {
      const row = Array.from(probs!.data.subarray(k * 10, k * 10 + 10));
      hits += row.indexOf(Math.max(...row)) === test.y[i] ? 1 : 0;
    });
    expect(hits / N).toBeGreaterThan(0.95); // 97.15% on all 2,000 (weights metadata)
  });

  it('gives 128-d non-negative features and rows of probabilities', () => {
    const f = ex.features({ data: digits(0, 4), count: 4 });
    expect([f.rows, f.cols]).toEqual([4, 128]);
    expect(f.data.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
    const p = ex.probabilities(digits(0, 4));
    for (let i = 0; i < 4; i++) expect(p.data.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('accepts tensors and other pixel ranges with the same result', () => {
    const x = tf.tensor(digits(0, 3), [3, 28, 28, 1]);
    const scaled = tf.sub(tf.mul(x, 2), 1);
    const a = ex.features(x).data;
    const other = new MnistFeatureExtractor(ex.net, { range: [-1, 1] });
    const b = other.features(scaled).data;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-4);
    x.dispose();
    scaled.dispose();
  });

  it('FID: real-vs-real split is small, real-vs-noise and real-vs-blank are large', async () => {
    const half = N / 2;
    // Two disjoint samples spread over all classes (even / odd positions of a strided pick).
    const ia = pick(spread(half));
    const ib = pick(spread(half, 1));
    const a = ex.features(ia);
    const b = ex.features(ib);
    const rng = new Rng(7);
    const noise = Float32Array.from({ length: half * 784 }, () => rng.uniform());
    const realReal = fid(a, b).value;
    const realNoise = fid(a, ex.features(noise)).value;
    const realBlank = fid(a, ex.features(new Float32Array(half * 784)), { offset: 1e-6 }).value;
    // One class against all classes is far too.
    const zeros = pick(Array.from({ length: test.length }, (_, i) => i).filter((i) => test.y[i] === 0).slice(0, half));
    const realOneClass = fid(a, ex.features(zeros)).value;
    expect(realReal).toBeGreaterThan(0);
    expect(realNoise).toBeGreaterThan(20 * realReal);
    expect(realBlank).toBeGreaterThan(20 * realReal);
    expect(realOneClass).toBeGreaterThan(5 * realReal);
    // Same number through the helper (features are computed the same way), on a smaller pair.
    const sa = ia.subarray(0, 40 * 784);
    const sb = ib.subarray(0, 40 * 784);
    const viaHelper = await mnistFid(sa, sb, { extractor: ex });
    expect(viaHelper.value).toBeCloseTo(fid(ex.features(sa), ex.features(sb)).value, 6);
    expect(viaHelper.signature).toMatch(/^mnist-fid\|mnist-features\|fid\|float64\|/);
  });

  it('IS: real digits score high (≤ 10), a single repeated digit scores 1', async () => {
    const real = inceptionScore(probs!, { splits: 1 }).value;
    const small = pick(spread(50));
    expect((await mnistIs(small, { extractor: ex })).value).toBeCloseTo(inceptionScore(ex.probabilities(small), { splits: 1 }).value, 8);
    expect(real).toBeGreaterThan(8);
    expect(real).toBeLessThanOrEqual(10);
    const one = new Float32Array(100 * 784);
    for (let i = 0; i < 100; i++) one.set(digits(0, 1), i * 784);
    expect((await mnistIs(one, { extractor: ex })).value).toBeCloseTo(1, 6);
  });

  it('frees its tensors, and rejects bad input with typed errors', async () => {
    await expectNoLeak(() => ex.features(digits(0, 2)));
    await expectNoLeak(async () => {
      const e = await mnistFeatureExtractor();
      e.probabilities(digits(0, 2));
      e.dispose();
    });
    await expectNoLeak(() => mnistFid(digits(0, 3), digits(3, 3), { extractor: ex }));
    expect(() => ex.features(new Float32Array(100))).toThrow(ShapeError);
    const bad = Float32Array.from(digits(0, 1));
    bad[5] = NaN;
    expect(() => ex.features(bad)).toThrow(InvalidArgumentError);
    const t = tf.zeros([2, 32, 32]);
    expect(() => ex.features(t)).toThrow(ShapeError);
    t.dispose();
    await expect(mnistFeatureExtractor({ weights: new Uint8Array(16) })).rejects.toThrow();
  });
});
