import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  createScheduler, diffusionLoss, diffusionLossParts, discretizedGaussianLogLikelihood, generate, MLPDenoiser, NoiseSchedule, normalKl,
  posterior, priorBpd, stopGradient, trainDenoiser, vbTermsBpd, type Denoiser,
} from '@nutshell/diffusion';
import { maxAbsDiff, vlb, vlbFakeEps, vlbFakeLearned } from './helpers.js';

const schedule = new NoiseSchedule({ betas: vlb.betas });

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return m;
}

describe('KL and decoder terms (improved-diffusion, numpy)', () => {
  it('normalKl matches numpy and hand values', () => {
    const r = vlb.normalKl;
    const kl = normalKl(tf.tensor1d(r.mean1), tf.tensor1d(r.logvar1), tf.tensor1d(r.mean2), tf.tensor1d(r.logvar2));
    expect(relErr(kl.dataSync(), r.kl)).toBeLessThan(1e-4);
    // by hand: identical Gaussians → 0; unit variances a distance 1 apart → ½; N(0, 1) ‖ N(0, 4) → ½(log 4 − 1 + ¼)
    expect(normalKl(0, 0, 0, 0).dataSync()[0]).toBeCloseTo(0, 7);
    expect(normalKl(1, 0, 0, 0).dataSync()[0]).toBeCloseTo(0.5, 6);
    expect(normalKl(0, 0, 0, Math.log(4)).dataSync()[0]).toBeCloseTo(0.5 * (Math.log(4) - 1 + 0.25), 6);
    kl.dispose();
  });

  it('the discretised Gaussian decoder log-likelihood matches numpy (both end bins included)', () => {
    const d = vlb.decoder;
    const ll = discretizedGaussianLogLikelihood(tf.tensor1d(d.x), tf.tensor1d(d.means), tf.tensor1d(d.logScales));
    const got = ll.dataSync();
    for (let i = 0; i < d.x.length; i++) {
      // float32 can only resolve the bin probability down to ~1e−7 of the CDF; beyond that both hit the 1e−12 floor region
      if (d.ll[i]! > -12) expect(Math.abs(got[i]! - d.ll[i]!), `x=${d.x[i]}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(d.ll[i]!)));
      else expect(got[i]!).toBeLessThan(-12);
      // the tanh CDF approximation stays close to the exact (erf) one where the probability is not tiny
      if (d.llExactCdf[i]! > -5) expect(Math.abs(d.ll[i]! - d.llExactCdf[i]!)).toBeLessThan(0.02);
    }
    // a probability: ≤ 0, and the 256 bins of one Gaussian sum to 1
    expect(Math.max(...got)).toBeLessThanOrEqual(0);
    const grid = tf.tensor1d(Array.from({ length: 256 }, (_, k) => k / 127.5 - 1));
    const p = tf.exp(discretizedGaussianLogLikelihood(grid, tf.fill([256], 0.1), tf.fill([256], Math.log(0.3))));
    expect(tf.sum(p).dataSync()[0]).toBeCloseTo(1, 4);
    [ll, grid, p].forEach((z) => z.dispose());
  });

  it('posterior coefficients: β̃₀ = 0, the clipped log uses β̃₁, and μ̃ reproduces x₀ when x_t = √ᾱ x₀', () => {
    const p = posterior(schedule);
    expect(p.variance[0]).toBe(0);
    expect(p.logVarianceClipped[0]).toBeCloseTo(Math.log(p.variance[1]!), 12);
    for (const t of [1, 10, 39]) {
      const ab = schedule.alphasCumprod[t]!;
      const abPrev = schedule.alphasCumprod[t - 1]!;
      // the posterior mean of a noiseless x_t = √ᾱ_t x₀ is √ᾱ_{t−1} x₀
      expect(p.meanCoef1[t]! + p.meanCoef2[t]! * Math.sqrt(ab)).toBeCloseTo(Math.sqrt(abPrev), 10);
      expect(p.variance[t]).toBeCloseTo((schedule.betas[t]! * (1 - abPrev)) / (1 - ab), 14);
    }
  });
});

describe('variational-bound terms of stand-in models (improved-diffusion _vb_terms_bpd, numpy)', () => {
  const x0 = tf.tensor(vlb.x0);
  for (const ref of vlb.bpd) {
    it(`${ref.varianceType}${ref.clipDenoised ? ', clip_denoised' : ''}: every L_t and the prior term`, () => {
      const model = ref.varianceType === 'learned_range' ? vlbFakeLearned : vlbFakeEps;
      for (let t = 0; t < vlb.T; t++) {
        const got = tf.tidy(() => {
          const tt = tf.fill([3], t, 'int32');
          const xt = tf.add(tf.mul(x0, schedule.sqrtAlphasCumprod[t]!), tf.mul(tf.tensor(vlb.noises[t]!), schedule.sqrtOneMinusAlphasCumprod[t]!));
          return vbTermsBpd(schedule, x0, xt, tt, model(xt, tf.cast(tt, 'float32')), { varianceType: ref.varianceType, clipDenoised: ref.clipDenoised });
        });
        expect(relErr(got.dataSync(), ref.terms.map((r) => r[t]!)), `t=${t}`).toBeLessThan(2e-3);
        got.dispose();
      }
      const prior = priorBpd(schedule, x0);
      expect(maxAbsDiff(prior.dataSync(), ref.prior)).toBeLessThan(1e-6);
      prior.dispose();
    });
  }
});

describe('learned variance: hybrid loss L_simple + λ·L_vlb', () => {
  const x0 = tf.tensor(vlb.x0);
  const learned: Denoiser = { forward: (x, t) => vlbFakeLearned(x, t) };

  it('matches improved-diffusion training_losses (RESCALED_MSE, learned_range)', () => {
    const h = vlb.hybrid;
    const noise = tf.tensor(h.noise);
    const parts = diffusionLossParts(learned, x0, { schedule, timesteps: h.timesteps, noise, varianceType: 'learned_range' });
    const mean = (a: number[]) => a.reduce((s, v) => s + v) / a.length;
    expect(parts.mse.dataSync()[0]).toBeCloseTo(mean(h.mse), 5);
    expect(Math.abs(parts.vb.dataSync()[0]! - mean(h.vb)) / mean(h.vb)).toBeLessThan(1e-3);
    expect(Math.abs(parts.loss.dataSync()[0]! - h.loss) / h.loss).toBeLessThan(1e-3);
    // λ scales the vb part: λ = 0 leaves the simple loss
    const simple = diffusionLoss(learned, x0, { schedule, timesteps: h.timesteps, noise, varianceType: 'learned_range', vlbWeight: 0 });
    expect(simple.dataSync()[0]).toBeCloseTo(mean(h.mse), 5);
    [noise, parts.loss, parts.mse, parts.vb, simple].forEach((z) => z.dispose());
  });

  it('stops the L_vlb gradient at the mean: the prediction learns from L_simple only, Σ from L_vlb only', () => {
    const a = tf.variable(tf.scalar(0.7));
    const b = tf.variable(tf.scalar(0.4));
    // ε̂ = a·x (prediction channels), v = b·tanh(x) (variance channels)
    const model: Denoiser = { forward: (x) => tf.tidy(() => tf.concat([tf.mul(x, a), tf.mul(tf.tanh(x), b)], -1)) };
    const noise = tf.tensor(vlb.hybrid.noise);
    const opts = { schedule, timesteps: [3, 17, 30], noise, varianceType: 'learned_range' as const };
    const g = (pick: 'loss' | 'mse' | 'vb') => {
      const { grads, value } = tf.variableGrads(() => {
        const p = diffusionLossParts(model, x0, opts);
        const keep = p[pick];
        for (const k of ['loss', 'mse', 'vb'] as const) if (p[k] !== keep) p[k].dispose();
        return keep as tf.Scalar;
      }, [a, b]);
      const out = { a: grads[a.name]!.dataSync()[0]!, b: grads[b.name]!.dataSync()[0]! };
      Object.values(grads).forEach((z) => z.dispose());
      value.dispose();
      return out;
    };
    const vb = g('vb');
    const mse = g('mse');
    const total = g('loss');
    expect(vb.a).toBe(0); // stopped
    expect(Math.abs(vb.b)).toBeGreaterThan(1e-4); // the variance learns from L_vlb
    expect(mse.b).toBe(0); // and not from the MSE
    expect(Math.abs(mse.a)).toBeGreaterThan(1e-4);
    expect(total.a).toBeCloseTo(mse.a, 6);
    expect(total.b).toBeCloseTo(vb.b * 0.001 * schedule.numTrainTimesteps, 6);
    // without the stop-gradient, L_vlb would pull on a too
    const free = tf.variableGrads(() => tf.tidy(() => {
      const out = model.forward(tf.add(x0, 0.3), tf.fill([3], 17));
      const [p] = tf.split(out, 2, -1);
      return tf.sum(tf.square(stopGradient(p))).add(tf.sum(tf.square(p))) as tf.Scalar;
    }), [a]);
    expect(Math.abs(free.grads[a.name]!.dataSync()[0]!)).toBeGreaterThan(0); // the unstopped copy still carries a gradient
    free.value.dispose();
    Object.values(free.grads).forEach((z) => z.dispose());
    [a, b, noise].forEach((z) => z.dispose());
  });

  it('a learned-variance MLP trains with the hybrid loss, without leaks, and rejects mismatched outputs', async () => {
    const data = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(tf.randomNormal([256, 2], 0, 1, 'float32', 3), 0.3), 0.2), -1, 1));
    const model = new MLPDenoiser({ dim: 2, hidden: 32, blocks: 1, learnVariance: true, seed: 1 });
    const { losses } = trainDenoiser({ model, data, schedule: new NoiseSchedule(), steps: 60, batchSize: 32, lr: 5e-3, varianceType: 'learned_range', rng: 0 });
    const head = losses.slice(0, 10).reduce((s, v) => s + v) / 10;
    const tail = losses.slice(-20).reduce((s, v) => s + v) / 20;
    expect(tail).toBeLessThan(0.8 * head);
    const few = tf.slice(data, [0, 0], [8, 2]);
    const sched1000 = new NoiseSchedule();
    await expectNoLeak(() => diffusionLoss(model, few, { schedule: sched1000, varianceType: 'learned_range', rng: 1 }));
    few.dispose();
    const plain = new MLPDenoiser({ dim: 2, hidden: 8, blocks: 1 });
    expect(() => diffusionLoss(plain, data, { schedule, varianceType: 'learned_range' })).toThrow(ShapeError);
    expect(() => diffusionLoss(model, data, { schedule })).toThrow(/learned_range/);
    expect(() => diffusionLoss(model, data, { schedule, varianceType: 'learned' as never })).toThrow(InvalidArgumentError);
    data.dispose();
  });
});

describe('DDPM sampling with a learned variance', () => {
  const sched = new NoiseSchedule();
  const mu = 1.5;
  const s = 0.7;
  /**
   * Exact learned-range model for data N(μ, s²): ε̂ = E[ε | x_t] and v chosen so that Σ equals the
   * true reverse variance Var(x_{t'} | x_t) = β̃ + c₀²·Var(x₀ | x_t) of the n-step DDPM chain.
   */
  function learnedOracle(n: number): Denoiser {
    const T = sched.numTrainTimesteps;
    return {
      forward(x: Tensor, t: Tensor): Tensor {
        const ti = t.dataSync()[0]!;
        const ab = sched.alphasCumprod[ti]!;
        const prev = ti - Math.floor(T / n);
        const abp = prev >= 0 ? sched.alphasCumprod[prev]! : 1;
        const curB = 1 - ab / abp;
        const small = Math.max(((1 - abp) / (1 - ab)) * curB, 1e-20); // as the scheduler (β̃ = 0 on a step to ᾱ = 1)
        const c0 = (Math.sqrt(abp) * curB) / (1 - ab);
        const varX0 = (s * s * (1 - ab)) / (ab * s * s + 1 - ab);
        const target = small + c0 * c0 * varX0;
        const v = ti === 0 ? 0 : 2 * ((Math.log(target) - Math.log(small)) / (Math.log(curB) - Math.log(small))) - 1;
        return tf.tidy(() => tf.concat([tf.mul(tf.sub(x, Math.sqrt(ab) * mu), Math.sqrt(1 - ab) / (ab * s * s + 1 - ab)), tf.fill(x.shape, v)], -1));
      },
    };
  }

  it('with the true reverse variance, 10 DDPM steps recover N(1.5, 0.7²); fixed β̃ does not', () => {
    const stats = (varianceType: 'learned_range' | 'fixed_small') => {
      const { samples } = generate({ model: learnedOracle(10), scheduler: createScheduler('ddpm', { schedule: sched, varianceType, timestepSpacing: 'trailing' }), shape: [6000, 1], steps: 10, rng: 5 });
      const m = tf.moments(samples);
      const out = { mean: m.mean.dataSync()[0]!, sd: Math.sqrt(m.variance.dataSync()[0]!) };
      [samples, m.mean, m.variance].forEach((z) => z.dispose());
      return out;
    };
    const learned = stats('learned_range');
    expect(Math.abs(learned.mean - mu)).toBeLessThan(0.03);
    expect(Math.abs(learned.sd - s) / s).toBeLessThan(0.025);
    const fixed = stats('fixed_small'); // the variance channels are dropped, β̃ used
    expect(Math.abs(fixed.sd - s) / s).toBeGreaterThan(0.05);
  });

  it('other schedulers drop the variance channels: same samples as the plain ε model', () => {
    // ε̂ of the Gaussian at (possibly fractional) t, with arbitrary variance channels next to it
    const plain: Denoiser = {
      forward: (x, t) => {
        const ab = sched.alphaCumprodAt(t.dataSync()[0]!);
        return tf.tidy(() => tf.mul(tf.sub(x, Math.sqrt(ab) * mu), Math.sqrt(1 - ab) / (ab * s * s + 1 - ab)));
      },
    };
    const oracle: Denoiser = { forward: (x, t) => tf.tidy(() => tf.concat([plain.forward(x, t), tf.tanh(x)], -1)) };
    for (const name of ['ddim', 'euler', 'dpmpp-2m']) {
      const a = generate({ model: oracle, scheduler: createScheduler(name, { schedule: sched }), shape: [16, 1], steps: 8, rng: 1 });
      const b = generate({ model: plain, scheduler: createScheduler(name, { schedule: sched }), shape: [16, 1], steps: 8, rng: 1 });
      expect(maxAbsDiff(a.samples.dataSync(), b.samples.dataSync()), name).toBe(0);
      a.samples.dispose();
      b.samples.dispose();
    }
    const ddpm = createScheduler('ddpm', { schedule: sched, varianceType: 'learned_range' });
    ddpm.setTimesteps(4);
    const x = tf.ones([2, 1]);
    expect(() => ddpm.step(x, ddpm.timesteps[0]!, x)).toThrow(ShapeError);
    expect(() => createScheduler('ddpm', { varianceType: 'learned' as never })).toThrow(InvalidArgumentError);
    x.dispose();
  });
});
