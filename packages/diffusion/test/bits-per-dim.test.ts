import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { NoiseSchedule, posterior, priorBpd, quantizeToGrid, scaleToUnitGrid, variationalBound, type Denoiser } from '@nutshell/diffusion';
import { vlb, vlbFakeEps, vlbFakeLearned } from './helpers.js';

describe('bits per dimension: the full variational bound', () => {
  const schedule = new NoiseSchedule({ betas: vlb.betas });
  const x0 = tf.tensor(vlb.x0);

  it('matches improved-diffusion calc_bpd_loop (numpy) for stand-in models, every variance type', () => {
    for (const ref of vlb.bpd) {
      const noises = vlb.noises.map((n) => tf.tensor(n));
      const r = variationalBound({
        model: { forward: ref.varianceType === 'learned_range' ? vlbFakeLearned : vlbFakeEps },
        schedule, data: x0, varianceType: ref.varianceType, clipDenoised: ref.clipDenoised, batchSize: 2,
        noise: (t, start, shape) => tf.slice(noises[t]!, start, shape[0]),
      });
      noises.forEach((n) => n.dispose());
      const label = `${ref.varianceType} clip=${ref.clipDenoised}`;
      for (let i = 0; i < 3; i++) expect(Math.abs(r.perExample[i]! - ref.total[i]!) / ref.total[i]!, label).toBeLessThan(1e-3);
      expect(r.priorBpd).toBeCloseTo(ref.prior.reduce((a, b) => a + b) / 3, 6);
      expect(r.decoderBpd).toBeCloseTo(ref.terms.reduce((a, row) => a + row[0]!, 0) / 3, 3);
      expect(r.bitsPerDim).toBeCloseTo(r.priorBpd + r.decoderBpd + r.klBpd, 9);
      expect(r.modelCalls).toBe(2 * vlb.T); // T calls per batch
    }
  });

  it('the prior term is the closed-form KL(N(√ᾱ_T x₀, 1 − ᾱ_T) ‖ N(0, 1)) (0 with zero terminal SNR)', () => {
    const lin = new NoiseSchedule({ numTrainTimesteps: 50, betaEnd: 0.05 });
    const ab = lin.alphasCumprod[49]!;
    const x = tf.tensor2d([[0.5, -1], [1, 0]]);
    const got = priorBpd(lin, x).dataSync();
    const kl = (v: number) => 0.5 * (ab * v * v + (1 - ab) - 1 - Math.log(1 - ab));
    expect(got[0]).toBeCloseTo((kl(0.5) + kl(-1)) / 2 / Math.LN2, 6);
    expect(got[1]).toBeCloseTo((kl(1) + kl(0)) / 2 / Math.LN2, 6);
    expect(got[0]!).toBeGreaterThan(0.01); // not vacuous: a short schedule leaves signal at T
    const z = new NoiseSchedule({ numTrainTimesteps: 50, betaEnd: 0.05, rescaleZeroTerminalSnr: true });
    expect(Math.max(...Array.from(priorBpd(z, x).dataSync()).map(Math.abs))).toBeLessThan(1e-7);
    x.dispose();
  });

  it('an exact denoiser for 8-bit Gaussian data attains the analytic value: H(data) + KL(q(x_T) ‖ N(0, 1))', () => {
    // Data: N(μ, s²) discretised to the 8-bit grid in [−1, 1] (the end values own the tails). For
    // continuous Gaussian data every reverse kernel q(x_{t−1} | x_t) is Gaussian; a learned-range model
    // with that mean and variance (and the Gaussian posterior as decoder) puts exactly the bin masses
    // on the grid, so its bound is the data entropy plus the prior mismatch, up to a dequantisation gap
    // of order (bin width / noise at t = 0)⁴.
    const mu = 0.1;
    const s = 0.25;
    const sched = new NoiseSchedule({ numTrainTimesteps: 100, betaSchedule: 'cosine' });
    const post = posterior(sched);
    const oracle: Denoiser = {
      forward(x: Tensor, t: Tensor): Tensor {
        const ti = t.dataSync()[0]!;
        const ab = sched.alphasCumprod[ti]!;
        const varX0 = (s * s * (1 - ab)) / (ab * s * s + 1 - ab);
        const c0 = post.meanCoef1[ti]!;
        const target = (ti === 0 ? 0 : post.variance[ti]!) + c0 * c0 * varX0;
        const frac = (Math.log(target) - post.logVarianceClipped[ti]!) / (post.logBetas[ti]! - post.logVarianceClipped[ti]!);
        return tf.tidy(() => tf.concat([tf.mul(tf.sub(x, Math.sqrt(ab) * mu), Math.sqrt(1 - ab) / (ab * s * s + 1 - ab)), tf.fill(x.shape, 2 * frac - 1)], -1));
      },
    };
    // Exact bin masses by Simpson's rule on the density (end bins integrate the tails).
    const pdf = (x: number) => Math.exp(-0.5 * ((x - mu) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
    const simpson = (a: number, b: number, n = 64) => {
      const h = (b - a) / n;
      let acc = pdf(a) + pdf(b);
      for (let i = 1; i < n; i++) acc += (i % 2 ? 4 : 2) * pdf(a + i * h);
      return (acc * h) / 3;
    };
    const half = 1 / 255;
    const P = Array.from({ length: 256 }, (_, k) => {
      const c = k / 127.5 - 1;
      return simpson(k === 0 ? mu - 12 * s : c - half, k === 255 ? mu + 12 * s : c + half, k === 0 || k === 255 ? 4096 : 64);
    });
    expect(P.reduce((a, b) => a + b)).toBeCloseTo(1, 8);
    const entropyBits = -P.reduce((acc, p) => acc + (p > 0 ? p * Math.log2(p) : 0), 0);
    const abT = sched.alphasCumprod[99]!;
    const vT = abT * s * s + 1 - abT;
    const priorMismatch = (0.5 * (vT + abT * mu * mu - 1 - Math.log(vT))) / Math.LN2;
    const analytic = entropyBits + priorMismatch;

    // Every grid value, R noise draws each; the expectation over the data is the P-weighted mean.
    const R = 12;
    const gridOf = (reps: number) => tf.tidy(() => tf.reshape(tf.tile(tf.reshape(scaleToUnitGrid(tf.range(0, 256)), [256, 1]), [1, reps]), [256 * reps, 1]));
    const grid = gridOf(R);
    const r = variationalBound({ model: oracle, schedule: sched, data: grid, varianceType: 'learned_range', clipDenoised: false, batchSize: 256 * R, rng: 3 });
    // bound = Σ_k P_k·mean_j(v_kj); its Monte Carlo error comes from the x_t draws within each bin.
    let bound = 0;
    let se2 = 0;
    for (let k = 0; k < 256; k++) {
      const v = Array.from({ length: R }, (_, j) => r.perExample[k * R + j]!);
      const m = v.reduce((a, b) => a + b) / R;
      bound += P[k]! * m;
      se2 += (P[k]! ** 2 * v.reduce((a, b) => a + (b - m) ** 2, 0)) / (R - 1) / R;
    }
    const se = Math.sqrt(se2);
    expect(analytic).toBeGreaterThan(7); // ≈ log2(255·s·√(2πe)) bits for 8-bit data
    expect(Math.abs(bound - analytic), `bound ${bound}, analytic ${analytic}, se ${se}`).toBeLessThan(Math.max(0.01, 4 * se));
    // A fixed β̃ variance with the same mean is a looser bound.
    const once = gridOf(1);
    const fixed = variationalBound({ model: { forward: (x, t) => tf.tidy(() => tf.split(oracle.forward(x, t), 2, -1)[0]!) }, schedule: sched, data: once, clipDenoised: false, batchSize: 256, rng: 3 });
    const fixedBound = P.reduce((acc, p, k) => acc + p * fixed.perExample[k]!, 0);
    once.dispose();
    expect(fixedBound).toBeGreaterThan(analytic + 0.1);
    grid.dispose();
  });

  it('checks its data, and leaks nothing', async () => {
    const model: Denoiser = { forward: (x) => tf.zerosLike(x) };
    const off = tf.tensor2d([[0.123456, 0.5]]);
    expect(() => variationalBound({ model, schedule, data: off })).toThrow(/grid/);
    const far = tf.tensor2d([[3, 0]]);
    expect(() => variationalBound({ model, schedule, data: far })).toThrow(InvalidArgumentError);
    const snapped = quantizeToGrid(off);
    expect(snapped.dataSync()[0]).toBeCloseTo(Math.round((0.123456 + 1) * 127.5) / 127.5 - 1, 6);
    const z = new NoiseSchedule({ numTrainTimesteps: 40, rescaleZeroTerminalSnr: true, betaEnd: 0.05 });
    expect(() => variationalBound({ model, schedule: z, data: snapped })).toThrow(/zero-SNR/);
    await expectNoLeak(() => variationalBound({ model, schedule, data: snapped }).bitsPerDim);
    [off, far, snapped].forEach((t) => t.dispose());
  });
});
