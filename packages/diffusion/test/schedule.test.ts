import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Rng, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { addNoise, diffusionLoss, dpmTimesteps, minSnrWeights, NoiseSchedule, spacedTimesteps, velocity, MLPDenoiser, type BetaScheduleName } from '@nutshell/diffusion';
import { fixtures, maxAbsDiff } from './helpers.js';

const NAMES: Record<string, BetaScheduleName> = { linear: 'linear', scaled_linear: 'scaled-linear', squaredcos_cap_v2: 'cosine', sigmoid: 'sigmoid' };

describe('noise schedules', () => {
  for (const [key, ref] of Object.entries(fixtures.schedules)) {
    it(`${key} matches diffusers' formulas (numpy)`, () => {
      const [name, z] = key.split('+');
      const s = new NoiseSchedule({ betaSchedule: NAMES[name!], betaStart: ref.betaStart || undefined, betaEnd: ref.betaEnd || undefined, rescaleZeroTerminalSnr: z === 'ztsnr' });
      expect(maxAbsDiff(s.betas, ref.betas)).toBeLessThan(1e-12);
      expect(maxAbsDiff(s.alphasCumprod, ref.alphasCumprod)).toBeLessThan(1e-12);
      // ᾱ strictly decreasing in (0, 1) — down to exactly 0 with zero terminal SNR
      for (let i = 1; i < s.numTrainTimesteps; i++) expect(s.alphasCumprod[i]!).toBeLessThan(s.alphasCumprod[i - 1]!);
      expect(s.alphasCumprod[0]!).toBeLessThan(1);
      if (z) {
        expect(s.alphasCumprod[999]).toBe(0);
        expect(s.snr[999]).toBe(0);
        expect(s.betas[999]).toBe(1);
        expect(s.sqrtAlphasCumprod[0]).toBeCloseTo(new NoiseSchedule({ betaSchedule: NAMES[name!], betaStart: ref.betaStart || undefined, betaEnd: ref.betaEnd || undefined }).sqrtAlphasCumprod[0]!, 12);
      } else {
        expect(s.alphasCumprod[999]!).toBeGreaterThan(0);
      }
      for (const i of [0, 10, 500, 998]) {
        const ab = s.alphasCumprod[i]!;
        expect(s.alphas[i]).toBeCloseTo(1 - s.betas[i]!, 15);
        expect(s.sigmas[i]).toBeCloseTo(Math.sqrt((1 - ab) / ab), 10);
        expect(s.snr[i]).toBeCloseTo(ab / (1 - ab), 8);
        expect(s.sqrtOneMinusAlphasCumprod[i]! ** 2 + s.sqrtAlphasCumprod[i]! ** 2).toBeCloseTo(1, 14);
      }
    });
  }

  it('round-trips through toJSON, including a zero-SNR schedule', () => {
    const s = new NoiseSchedule({ betaSchedule: 'scaled-linear', betaStart: 0.00085, betaEnd: 0.012, rescaleZeroTerminalSnr: true });
    const back = new NoiseSchedule({ betas: s.toJSON().betas });
    expect(maxAbsDiff(back.alphasCumprod, s.alphasCumprod)).toBe(0);
    expect(back.zeroTerminalSnr).toBe(true);
  });

  it('rejects bad schedules with typed errors', () => {
    expect(() => new NoiseSchedule({ betaSchedule: 'quadratic' as never })).toThrow(InvalidArgumentError);
    expect(() => new NoiseSchedule({ betaStart: 0 })).toThrow(InvalidArgumentError);
    expect(() => new NoiseSchedule({ betas: [0.1, 1.5] })).toThrow(/β\[1\]/);
    expect(() => new NoiseSchedule({ numTrainTimesteps: 1 })).toThrow(InvalidArgumentError);
    expect(() => new NoiseSchedule({ betas: [0.1, 0.2], numTrainTimesteps: 3 })).toThrow(InvalidArgumentError);
  });

  it('lays out timesteps like diffusers (leading / trailing / linspace, steps offset)', () => {
    for (const [key, ref] of Object.entries(fixtures.timesteps)) {
      const [kind, spacing, n, off] = key.split('/');
      const opts = { stepsOffset: Number(off) };
      const got = kind === 'dpm' ? dpmTimesteps(spacing as never, Number(n), 1000, Number(off))
        : spacedTimesteps(spacing as never, Number(n), 1000, { ...opts, round: kind !== 'euler' });
      expect(maxAbsDiff(got, ref), key).toBeLessThan(1e-9);
      expect(got.length, key).toBe(ref.length);
    }
  });
});

describe('forward process and losses', () => {
  const schedule = new NoiseSchedule();

  it('q(x_t | x0) has the closed-form mean and variance (seeded, statistical)', () => {
    const n = 20000;
    for (const t of [0, 250, 999]) {
      const stats = tf.tidy(() => {
        const x0 = tf.fill([n, 1], 0.8);
        const noise = new Rng(`q/${t}`).normalTensor([n, 1]);
        const xt = addNoise(schedule, x0, noise, [t]);
        const { mean, variance } = tf.moments(xt);
        return [mean.dataSync()[0]!, variance.dataSync()[0]!];
      });
      const ab = schedule.alphasCumprod[t]!;
      const sd = Math.sqrt((1 - ab) / n);
      expect(Math.abs(stats[0]! - Math.sqrt(ab) * 0.8)).toBeLessThan(5 * sd + 1e-6);
      expect(Math.abs(stats[1]! - (1 - ab))).toBeLessThan(5 * (1 - ab) * Math.sqrt(2 / n) + 1e-6);
    }
  });

  it('velocity satisfies x0 = √ᾱ·x_t − √(1−ᾱ)·v', () => {
    const err = tf.tidy(() => {
      const rng = new Rng(1);
      const x0 = rng.normalTensor([4, 3]);
      const eps = rng.normalTensor([4, 3]);
      const t = [5, 100, 600, 990];
      const xt = addNoise(schedule, x0, eps, t);
      const v = velocity(schedule, x0, eps, t);
      const a = tf.tensor2d(t.map((i) => [schedule.sqrtAlphasCumprod[i]!]));
      const b = tf.tensor2d(t.map((i) => [schedule.sqrtOneMinusAlphasCumprod[i]!]));
      return tf.max(tf.abs(tf.sub(tf.sub(tf.mul(a, xt), tf.mul(b, v)), x0))).dataSync()[0]!;
    });
    expect(err).toBeLessThan(1e-5);
  });

  it('rejects timesteps outside the schedule and mismatched shapes', () => {
    const x = tf.zeros([2, 2]);
    expect(() => addNoise(schedule, x, x, [0, 1000])).toThrow(InvalidArgumentError);
    expect(() => addNoise(schedule, x, x, [0, 1, 2])).toThrow(ShapeError);
    expect(() => addNoise(schedule, x, tf.zeros([3, 2]), [0, 1])).toThrow(ShapeError);
    x.dispose();
  });

  it('min-SNR-γ weights are the x0-space weights expressed per prediction type', () => {
    const g = 5;
    const we = minSnrWeights(schedule, g, 'epsilon');
    const wx = minSnrWeights(schedule, g, 'sample');
    const wv = minSnrWeights(schedule, g, 'v_prediction');
    for (const t of [0, 100, 500, 999]) {
      const snr = schedule.snr[t]!;
      expect(wx[t]).toBeCloseTo(Math.min(snr, g), 10);
      // ‖ε − ε̂‖² = SNR·‖x0 − x̂0‖² and ‖v − v̂‖² = (SNR + 1)·‖x0 − x̂0‖²
      expect(we[t]! * snr).toBeCloseTo(Math.min(snr, g), 8);
      expect(wv[t]! * (snr + 1)).toBeCloseTo(Math.min(snr, g), 8);
    }
    expect(() => minSnrWeights(schedule, 0, 'epsilon')).toThrow(InvalidArgumentError);
  });

  it('the loss is zero for an oracle that returns the true target, for every prediction type', async () => {
    const x0 = tf.tensor2d([[1, -1], [0.5, 2], [0, 0]]);
    const noise = tf.tensor2d([[0.3, -0.2], [1, 0], [-1, 1]]);
    const t = [3, 400, 999];
    for (const type of ['epsilon', 'sample', 'v_prediction'] as const) {
      const oracle = { forward: () => (type === 'epsilon' ? tf.clone(noise) : type === 'sample' ? tf.clone(x0) : velocity(schedule, x0, noise, t)) };
      const loss = diffusionLoss(oracle, x0, { schedule, predictionType: type, timesteps: t, noise, minSnrGamma: type === 'sample' ? 5 : undefined });
      expect(loss.dataSync()[0]).toBeLessThan(1e-10);
      loss.dispose();
      const zero = { forward: (x: tf.Tensor) => tf.zerosLike(x) };
      const l2 = diffusionLoss(zero, x0, { schedule, predictionType: type, timesteps: t, noise });
      const target = type === 'epsilon' ? noise : type === 'sample' ? x0 : velocity(schedule, x0, noise, t);
      expect(l2.dataSync()[0]).toBeCloseTo(tf.mean(tf.square(target)).dataSync()[0]!, 5);
      l2.dispose();
    }
    const model = new MLPDenoiser({ hidden: 16, blocks: 1, numClasses: 3 });
    const labels = tf.tensor1d([0, 1, 2], 'int32');
    await expectNoLeak(() => diffusionLoss(model, x0, { schedule, rng: 1, cond: { classLabels: labels }, condDropout: 0.5 }));
    labels.dispose();
    x0.dispose();
    noise.dispose();
  });
});
