import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { annealedLangevin, combinePrediction, geometricSigmas, NoiseSchedule, scoreFromDenoiser, type Denoiser, type PredictionType, type ScoreFn } from '@nutshell/diffusion';

/** Exact score of N(μ, s²) perturbed by N(0, σ²): −(x − μ)/(s² + σ²). */
const gaussianScore = (mu: number, s: number): ScoreFn => (x, sigma) => tf.tidy(() => tf.mul(tf.sub(x, mu), -1 / (s * s + sigma * sigma)));

/** Mean and variance of the chain in float64: every Langevin step is affine in x for a Gaussian target. */
function propagate(mu: number, s: number, sigmas: number[], T: number, eps: number, init: { mean: number; variance: number }, denoise = false) {
  let { mean: m, variance: v } = init;
  const last = sigmas[sigmas.length - 1]!;
  for (const sigma of sigmas) {
    const alpha = (eps * sigma * sigma) / (last * last);
    const c = 1 - alpha / (2 * (s * s + sigma * sigma));
    for (let k = 0; k < T; k++) {
      m = mu + c * (m - mu);
      v = c * c * v + alpha;
    }
  }
  if (denoise) {
    const c = (s * s) / (s * s + last * last);
    m = mu + c * (m - mu);
    v = c * c * v;
  }
  return { mean: m, sd: Math.sqrt(v) };
}

function moments(x: Tensor): { mean: number; sd: number } {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x);
    return { mean: mean.dataSync()[0]!, sd: Math.sqrt(variance.dataSync()[0]!) };
  }) as unknown as { mean: number; sd: number };
}

describe('annealed Langevin dynamics (Song & Ermon 2019)', () => {
  it('geometric noise levels', () => {
    const s = geometricSigmas(1, 0.01, 10);
    expect(s).toHaveLength(10);
    expect(s[0]).toBe(1);
    expect(s[9]).toBe(0.01);
    for (let i = 1; i < 10; i++) expect(s[i]! / s[i - 1]!).toBeCloseTo(0.01 ** (1 / 9), 12);
  });

  it('with an exact score recovers a Gaussian: mean and std as the float64 chain predicts, and close to the data', () => {
    const mu = 1;
    const s = 0.5;
    const sigmas = geometricSigmas(3, 0.01, 10);
    const { samples, scoreCalls } = annealedLangevin({ score: gaussianScore(mu, s), shape: [4000, 1], sigmas, stepsPerLevel: 50, stepSize: 2e-4, rng: 1 });
    expect(scoreCalls).toBe(500);
    const got = moments(samples);
    const want = propagate(mu, s, sigmas, 50, 2e-4, { mean: 0, variance: 9 });
    expect(Math.abs(got.mean - want.mean)).toBeLessThan(0.025); // ~3 standard errors
    expect(Math.abs(got.sd - want.sd) / want.sd).toBeLessThan(0.04);
    // and the chain did its job: N(1, 0.5²) (plus σ_L² = 1e−4 of perturbation)
    expect(Math.abs(want.mean - mu)).toBeLessThan(0.01);
    expect(Math.abs(want.sd - s) / s).toBeLessThan(0.015);
    expect(Math.abs(got.sd - s) / s).toBeLessThan(0.04);
    samples.dispose();
  });

  it('recovers the mode weights of a separated mixture, which plain Langevin cannot', () => {
    // Song & Ermon's toy: 1/5·N((−5, −5), I) + 4/5·N((5, 5), I), start uniform on [−8, 8]².
    const mus = [[-5, -5], [5, 5]];
    const logPi = [Math.log(0.2), Math.log(0.8)];
    const score: ScoreFn = (x, sigma) => tf.tidy(() => {
      const v = 1 + sigma * sigma;
      const diffs = mus.map((m) => tf.sub(tf.tensor2d([m]), x)); // μ_k − x
      const logits = tf.stack(diffs.map((d, k) => tf.add(tf.mul(tf.sum(tf.square(d), 1), -0.5 / v), logPi[k]!)), 1);
      const r = tf.softmax(logits); // responsibilities [N, 2]
      return tf.div(tf.addN(diffs.map((d, k) => tf.mul(d, tf.slice(r, [0, k], [-1, 1])))), v);
    });
    const init = tf.randomUniform([500, 2], -8, 8, 'float32', 4);
    const fracUpper = (x: Tensor) => tf.tidy(() => tf.mean(tf.cast(tf.greater(tf.sum(x, 1), 0), 'float32')).dataSync()[0]!);
    const annealed = annealedLangevin({ score, shape: [500, 2], sigmas: geometricSigmas(20, 1, 10), stepsPerLevel: 40, stepSize: 0.1, init, rng: 2 });
    expect(Math.abs(fracUpper(annealed.samples) - 0.8)).toBeLessThan(0.06); // 3 standard errors
    const plain = annealedLangevin({ score, shape: [500, 2], sigmas: [0.01], stepsPerLevel: 200, stepSize: 0.1, init, rng: 2 });
    expect(Math.abs(fracUpper(plain.samples) - 0.8)).toBeGreaterThan(0.15); // stuck with the initial split
    [init, annealed.samples, plain.samples].forEach((z) => z.dispose());
  });

  it('the score of an ε / x₀ / v denoiser is −ε̂/σ: equal to the exact Gaussian score', () => {
    const schedule = new NoiseSchedule();
    const mu = 0.3;
    const s = 0.8;
    for (const type of ['epsilon', 'sample', 'v_prediction'] as PredictionType[]) {
      // The Bayes-optimal VP denoiser for N(μ, s²) written in the prediction type
      const model: Denoiser = {
        forward(x, t) {
          const ab = schedule.alphaCumprodAt(t.dataSync()[0]!);
          const a = Math.sqrt(ab);
          const b = Math.sqrt(1 - ab);
          return tf.tidy(() => {
            const eps = tf.mul(tf.sub(x, a * mu), b / (ab * s * s + 1 - ab));
            const x0 = tf.div(tf.sub(x, tf.mul(eps, b)), a);
            return combinePrediction(type, x0, eps, a, b);
          });
        },
      };
      const score = scoreFromDenoiser(model, schedule, { predictionType: type });
      const x = tf.tensor2d([[-2], [0.3], [1], [4]]);
      for (const t of [0, 50, 400, 999]) {
        const sigma = schedule.sigmas[t]!;
        const got = score(x, sigma).dataSync();
        const want = gaussianScore(mu, s)(x, sigma).dataSync();
        for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!), `${type} t=${t}`).toBeLessThan(2e-4 * Math.max(1e-2, Math.abs(want[i]!)) + 1e-6);
      }
      expect(() => score(x, 1000)).toThrow(InvalidArgumentError);
      expect(() => score(x, 1e-3)).toThrow(InvalidArgumentError);
      x.dispose();
    }
  });

  it('with the converted score of an exact ε-denoiser (and a final denoising step) recovers the Gaussian', () => {
    const schedule = new NoiseSchedule();
    const mu = -0.5;
    const s = 0.4;
    const model: Denoiser = {
      forward(x, t) {
        const ab = schedule.alphaCumprodAt(t.dataSync()[0]!);
        return tf.tidy(() => tf.mul(tf.sub(x, Math.sqrt(ab) * mu), Math.sqrt(1 - ab) / (ab * s * s + 1 - ab)));
      },
    };
    const sigmas = geometricSigmas(3, 0.05, 8);
    const { samples, scoreCalls } = annealedLangevin({ score: scoreFromDenoiser(model, schedule), shape: [3000, 1], sigmas, stepsPerLevel: 40, stepSize: 5e-3, denoise: true, rng: 6 });
    expect(scoreCalls).toBe(8 * 40 + 1);
    const got = moments(samples);
    const want = propagate(mu, s, sigmas, 40, 5e-3, { mean: 0, variance: 9 }, true);
    expect(Math.abs(got.mean - want.mean)).toBeLessThan(0.03);
    expect(Math.abs(got.sd - want.sd) / want.sd).toBeLessThan(0.05);
    expect(Math.abs(got.mean - mu)).toBeLessThan(0.03);
    expect(Math.abs(got.sd - s) / s).toBeLessThan(0.05);
    samples.dispose();
  });

  it('does not leak and rejects bad levels, step sizes and shapes', async () => {
    const score = gaussianScore(0, 1);
    await expectNoLeak(() => annealedLangevin({ score, shape: [4, 2], sigmas: [1, 0.5], stepsPerLevel: 3, denoise: true }).samples);
    expect(() => annealedLangevin({ score, shape: [4, 2], sigmas: [0.5, 1] })).toThrow(InvalidArgumentError);
    expect(() => annealedLangevin({ score, shape: [4, 2], sigmas: [1, 0] })).toThrow(InvalidArgumentError);
    expect(() => annealedLangevin({ score, shape: [4, 2], stepSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => annealedLangevin({ score, shape: [4, 2], stepsPerLevel: 0 })).toThrow(InvalidArgumentError);
    expect(() => annealedLangevin({ score: (x) => tf.zeros([x.shape[0]!, 3]), shape: [4, 2], sigmas: [1], stepsPerLevel: 1 })).toThrow(ShapeError);
    expect(() => geometricSigmas(0.1, 1, 5)).toThrow(InvalidArgumentError);
  });
});
