import { readFileSync } from 'node:fs';
import { InvalidArgumentError, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  DEFAULT_RDP_ORDERS, RdpAccountant, computeRdp, getNoiseMultiplier, logErfc, poissonBatches, poissonSample,
  privatizeGradients, prvEpsilon, rdpEpsilon, rdpSampledGaussian, rdpToEpsilon,
} from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const fx = JSON.parse(readFileSync(new URL('./fixtures/rdp.json', import.meta.url), 'utf8'));
const gdp = JSON.parse(readFileSync(new URL('./fixtures/gdp.json', import.meta.url), 'utf8'));

describe('RDP accountant (Opacus)', () => {
  it('uses Opacus default orders', () => {
    expect(DEFAULT_RDP_ORDERS).toEqual(fx.orders);
  });

  it('matches the published Opacus test value: q=0.04, σ=1.5, 2250 steps, δ=1e-5 → ε=7.32911117143', () => {
    const acc = new RdpAccountant();
    for (let i = 0; i < 2250; i++) acc.step(1.5, 0.04);
    expect(acc.history).toEqual([[1.5, 0.04, 2250]]);
    expect(acc.getEpsilon(1e-5)).toBeCloseTo(7.32911117143, 7);
  });

  it('matches the published rdp.py doctest (ε 0.336 at order 23)', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const rdp = computeRdp(1e-5, 1.0, 10, orders).map((v, k) => v + computeRdp(1e-4, 3.0, 4, orders)[k]!);
    const r = rdpToEpsilon(orders, rdp, 1e-5);
    expect(r.epsilon).toBeCloseTo(0.336, 3);
    expect(r.bestAlpha).toBe(23);
    expect(r.epsilon).toBeCloseTo(fx.doctest.epsilon, 10);
  });

  it('matches the Opacus algorithm within 1e-6 relative over the whole grid (and well within the 1% goal)', () => {
    let worst = 0;
    for (const g of fx.grid) {
      const r = rdpEpsilon(g.q, g.sigma, g.steps, g.delta);
      worst = Math.max(worst, Math.abs(r.epsilon - g.epsilon) / g.epsilon);
      expect(r.bestAlpha).toBe(g.best_alpha);
    }
    expect(fx.grid.length).toBeGreaterThan(100);
    expect(worst).toBeLessThan(1e-6);
  });

  it('single-order RDP agrees with the series and with direct numerical integration (fractional orders too)', () => {
    for (const s of fx.single) {
      const v = rdpSampledGaussian(s.q, s.sigma, s.alpha);
      expect(Math.abs(v - s.rdp) / s.rdp).toBeLessThan(1e-7);
      expect(Math.abs(v - s.rdp_quadrature) / s.rdp_quadrature).toBeLessThan(1e-6);
    }
    expect(rdpSampledGaussian(1, 2, 3)).toBe(3 / 8);
    expect(rdpSampledGaussian(0, 2, 3)).toBe(0);
    expect(rdpSampledGaussian(0.1, 0, 3)).toBe(Infinity);
  });

  it('finds the noise multiplier for a target ε like Opacus (published 1.416 and 1.3562)', () => {
    expect(Math.abs(getNoiseMultiplier({ targetEpsilon: 8, targetDelta: 1e-5, sampleRate: 0.04, epochs: 90 }) - 1.416)).toBeLessThan(5e-5);
    expect(Math.abs(getNoiseMultiplier({ targetEpsilon: 8, targetDelta: 1e-5, sampleRate: 0.04, steps: 2000 }) - 1.3562)).toBeLessThan(5e-5);
    expect(() => getNoiseMultiplier({ targetEpsilon: 8, targetDelta: 1e-5, sampleRate: 0.04 })).toThrow(InvalidArgumentError);
  });

  it('typed errors', () => {
    expect(() => rdpEpsilon(1.5, 1, 10, 1e-5)).toThrow(/sample rate/);
    expect(() => rdpEpsilon(0.1, 1, 10, 0)).toThrow(/delta/);
    expect(() => computeRdp(0.1, 1, 1.5)).toThrow(/steps/);
    expect(() => computeRdp(0.1, 1, 10, [1])).toThrow(/order/);
  });

  it('log erfc agrees with scipy from the far left to the far right tail', () => {
    for (const { x, log_erfc } of fx.log_erfc) expect(Math.abs(logErfc(x) - log_erfc)).toBeLessThan(1e-10 * Math.max(1, Math.abs(log_erfc)));
  });
});

describe('PRV accountant', () => {
  it('at q = 1 equals the exact Gaussian-DP ε (Balle & Wang 2018)', () => {
    for (const g of gdp.gaussian) {
      const r = prvEpsilon({ sampleRate: 1, noiseMultiplier: g.sigma, steps: g.steps, delta: g.delta, log2Size: 16 });
      expect(Math.abs(r.epsilon - g.epsilon) / g.epsilon).toBeLessThan(2e-3);
      expect(r.epsilonLower).toBeLessThanOrEqual(g.epsilon + 1e-9);
      expect(r.epsilonUpper).toBeGreaterThanOrEqual(g.epsilon - 1e-9);
    }
  });

  it('is tighter than RDP for the subsampled Gaussian, and not by much', () => {
    const r = prvEpsilon({ sampleRate: 0.04, noiseMultiplier: 1.5, steps: 2250, delta: 1e-5, log2Size: 17 });
    const rdp = rdpEpsilon(0.04, 1.5, 2250, 1e-5).epsilon;
    expect(r.epsilonLower).toBeLessThanOrEqual(r.epsilon);
    expect(r.epsilon).toBeLessThanOrEqual(r.epsilonUpper);
    expect(r.epsilonUpper).toBeLessThan(rdp);
    expect(r.epsilon).toBeGreaterThan(0.7 * rdp);
  });
});

describe('DP-SGD arithmetic', () => {
  const grads = () => [tf.tensor3d([[[3, 4]], [[0, 0.5]], [[6, 8]]]), tf.tensor2d([[0], [0], [0]])]; // per-example norms 5, 0.5, 10

  it('clips each example to norm ≤ C over all parameters, sums and averages', async () => {
    const g = grads();
    const r = privatizeGradients(g, { maxGradNorm: 1, noiseMultiplier: 0 });
    expect(Array.from(r.perSampleNorms)).toEqual([5, 0.5, 10]);
    expect(r.clippedFraction).toBeCloseTo(2 / 3);
    const out = await r.grads[0]!.array() as number[][];
    // (0.6,0.8) + (0,0.5) + (0.6,0.8) over 3, up to the 1e-6 in Opacus' clip factor.
    expect(out[0]![0]).toBeCloseTo(1.2 / 3, 5);
    expect(out[0]![1]).toBeCloseTo(2.1 / 3, 5);
    expect(r.grads[0]!.shape).toEqual([1, 2]);
    tf.dispose([...g, ...r.grads]);
  });

  it('with σ = 0 and C = ∞ equals the plain mean gradient; noise is seeded with std σC', async () => {
    const g = grads();
    const plain = privatizeGradients(g, { maxGradNorm: Infinity, noiseMultiplier: 0 });
    const mean = tf.mean(g[0]!, 0);
    const got = plain.grads[0]!.dataSync(), want = mean.dataSync();
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    mean.dispose();
    const big = tf.zeros([1, 20000]);
    const a = privatizeGradients([big], { maxGradNorm: 2, noiseMultiplier: 1.5, seed: 3, expectedBatchSize: 1 });
    const b = privatizeGradients([big], { maxGradNorm: 2, noiseMultiplier: 1.5, seed: 3, expectedBatchSize: 1 });
    const va = a.grads[0]!.dataSync();
    expect(Array.from(va)).toEqual(Array.from(b.grads[0]!.dataSync()));
    const m = va.reduce((s, x) => s + x, 0) / va.length;
    const sd = Math.sqrt(va.reduce((s, x) => s + (x - m) ** 2, 0) / va.length);
    expect(sd).toBeGreaterThan(2.9);
    expect(sd).toBeLessThan(3.1);
    tf.dispose([...g, big, ...plain.grads, ...a.grads, ...b.grads]);
  });

  it('leaks no tensors and rejects bad input', async () => {
    const g = grads();
    await expectNoLeak(() => privatizeGradients(g, { maxGradNorm: 1, noiseMultiplier: 1, seed: 1 }).grads);
    expect(() => privatizeGradients([g[0]!, tf.zeros([2, 1])], { maxGradNorm: 1, noiseMultiplier: 0 })).toThrow(ShapeError);
    expect(() => privatizeGradients(g, { maxGradNorm: 0, noiseMultiplier: 0 })).toThrow(InvalidArgumentError);
    expect(() => privatizeGradients(g, { maxGradNorm: Infinity, noiseMultiplier: 1 })).toThrow(/finite maxGradNorm/);
    tf.dispose(g);
  });

  it('Poisson sampling is seeded and has the right rate', () => {
    expect(poissonSample(1000, 0.1, 7)).toEqual(poissonSample(1000, 0.1, 7));
    const sizes = [...poissonBatches(1000, 0.05, 200, 1)].map((b) => b.length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThan(47);
    expect(mean).toBeLessThan(53);
    expect(new Set(sizes).size).toBeGreaterThan(5);
    expect(() => poissonSample(10, 1.5)).toThrow(InvalidArgumentError);
  });
});
