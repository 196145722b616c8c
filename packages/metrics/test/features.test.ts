import { readFileSync } from 'node:fs';
import { InvalidArgumentError, ShapeError, tensor2d } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { fid, inceptionScore, kid, precisionRecall, psnr, slicedWasserstein, ssim, wasserstein1d, eigh } from '@nutshell/metrics';
import { describe, expect, it } from 'vitest';

const fx = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('FID / KID / PRDC against numpy, scipy and pytorch-fid formulas', () => {
  for (const c of fx.features as { name: string; a: number[][]; b: number[][]; pytorch_fid: number; exact: number; kid: number; prdc: Record<string, number>; prdc_k3: Record<string, number> }[]) {
    it(`FID ${c.name} (${c.a.length}+${c.b.length} samples, d = ${c.a[0]!.length})`, () => {
      const auto = fid(c.a, c.b).value;
      expect(rel(auto, c.exact)).toBeLessThan(1e-9);
      expect(rel(auto, c.pytorch_fid)).toBeLessThan(1e-6);
      expect(rel(fid(c.a, c.b, { method: 'eigen' }).value, c.exact)).toBeLessThan(1e-9);
      expect(rel(fid(c.a, c.b, { method: 'gram' }).value, c.exact)).toBeLessThan(1e-9);
      // Pivoted Cholesky also on singular covariances (N ≤ d).
      expect(rel(fid(c.a, c.b, { method: 'cholesky' }).value, c.exact)).toBeLessThan(1e-9);
      expect(rel(fid(c.a, c.b, { method: 'cholesky', offset: 1e-6 }).value, fid(c.a, c.b, { method: 'eigen', offset: 1e-6 }).value)).toBeLessThan(1e-9);
    });
    it(`KID ${c.name} with subsets covering the sets`, () => {
      // KID uses equal-size subsets; with subsets as large as the sets every subset is the whole data.
      const r = kid(c.a.slice(0, c.b.length), c.b, { subsets: 3, subsetSize: 10_000 });
      expect(rel(r.value, c.kid)).toBeLessThan(1e-9);
      expect(r.details!['std']).toBe(0);
    });
    it(`precision/recall/density/coverage ${c.name}`, () => {
      const r = precisionRecall(c.a, c.b, { k: 5 });
      for (const key of ['precision', 'recall', 'density', 'coverage'] as const) expect(r[key]).toBeCloseTo(c.prdc[key]!, 12);
      const r3 = precisionRecall(c.a, c.b, { k: 3 });
      for (const key of ['precision', 'recall', 'density', 'coverage'] as const) expect(r3[key]).toBeCloseTo(c.prdc_k3[key]!, 12);
    });
  }

  it('FID is 0 for identical sets, and KID subsets are seeded', () => {
    const a = fx.features[0].a as number[][];
    expect(fid(a, a).value).toBeLessThan(1e-9);
    const b = fx.features[0].b as number[][];
    const k1 = kid(a, b, { subsets: 5, subsetSize: 50, seed: 3 });
    const k2 = kid(a, b, { subsets: 5, subsetSize: 50, seed: 3 });
    expect(k1.value).toBe(k2.value);
    expect(k1.details!['std']).toBeGreaterThan(0);
  });

  it('reads tensors without leaking', async () => {
    const c = fx.features[0];
    await expectNoLeak(() => {
      const ta = tensor2d(c.a as number[][]);
      const tb = tensor2d(c.b as number[][]);
      const v = fid(ta, tb).value;
      ta.dispose();
      tb.dispose();
      // float32 storage costs precision relative to the float64 fixture, but not 1e-3.
      expect(rel(v, c.exact)).toBeLessThan(1e-3);
    });
  });

  it('bad input gives typed errors', () => {
    expect(() => fid([[1, 2]], [[1, 2], [3, 4]])).toThrow(/at least 2 rows/);
    expect(() => fid([[1, NaN], [1, 2]], [[1, 2], [3, 4]])).toThrow(InvalidArgumentError);
    expect(() => fid([[1, 2], [3]], [[1, 2], [3, 4]])).toThrow(ShapeError);
    expect(() => fid([[1, 2], [3, 4]], [[1, 2, 3], [3, 4, 5]])).toThrow(ShapeError);
  });
});

describe('eigh', () => {
  it('reconstructs a symmetric matrix', () => {
    const n = 6;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 3 + j) + (i === j ? 2 : 0);
    const { values, vectors } = eigh(a, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += values[k]! * vectors![k * n + i]! * vectors![k * n + j]!;
      expect(s).toBeCloseTo(a[i * n + j]!, 12);
    }
    for (let k = 1; k < n; k++) expect(values[k]!).toBeGreaterThanOrEqual(values[k - 1]!);
  });
});

describe('Inception Score, Wasserstein, SWD', () => {
  it('IS matches the split formula', () => {
    const r = inceptionScore(fx.inception_score.probs, { splits: fx.inception_score.splits });
    expect(rel(r.value, fx.inception_score.mean)).toBeLessThan(1e-12);
    expect(r.details!['std']).toBeCloseTo(fx.inception_score.std, 10);
    expect(() => inceptionScore([[2, -1]], { splits: 1 })).toThrow(InvalidArgumentError);
  });
  it('1-D Wasserstein matches scipy', () => {
    expect(rel(wasserstein1d(fx.wasserstein1d.u, fx.wasserstein1d.v), fx.wasserstein1d.value)).toBeLessThan(1e-12);
  });
  it('SWD is seeded, zero on identical sets, grows with a shift', () => {
    const a = fx.features[0].a as number[][];
    const shifted = a.map((r) => r.map((v) => v + 1));
    const s1 = slicedWasserstein(a, shifted, { seed: 1 });
    expect(slicedWasserstein(a, shifted, { seed: 1 }).value).toBe(s1.value);
    expect(slicedWasserstein(a, a, { seed: 1 }).value).toBe(0);
    // A shift by the all-ones vector moves each unit projection by its coordinate sum.
    expect(s1.value).toBeGreaterThan(0.5);
  });
});

describe('PSNR / SSIM against scikit-image', () => {
  for (const c of fx.images as { shape: number[]; a: number[]; b: number[]; psnr: number; ssim: number; ssim_sample_cov: number }[]) {
    it(`shape [${c.shape.join(', ')}]`, () => {
      const a = { shape: c.shape, data: c.a };
      const b = { shape: c.shape, data: c.b };
      expect(rel(psnr(a, b, { dataRange: 1 }), c.psnr)).toBeLessThan(1e-12);
      expect(Math.abs(ssim(a, b, { dataRange: 1 }) - c.ssim)).toBeLessThan(1e-10);
      expect(Math.abs(ssim(a, b, { dataRange: 1, sampleCovariance: true }) - c.ssim_sample_cov)).toBeLessThan(1e-10);
    });
  }
  it('identical images', () => {
    const a = { shape: [16, 16], data: Array.from({ length: 256 }, (_, i) => (i % 7) / 7) };
    expect(psnr(a, a)).toBe(Infinity);
    expect(ssim(a, a)).toBeCloseTo(1, 12);
  });
});
