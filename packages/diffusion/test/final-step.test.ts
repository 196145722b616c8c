import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@nutshell/core';
import { createScheduler, gridPixels, NoiseSchedule } from '@nutshell/diffusion';

// What reaches the PNG / classifier at the end of sampling: the last step must return x̂₀ itself
// (clipped when asked, no fresh noise), and out-of-range pixels must clamp, never wrap around.
const schedule = new NoiseSchedule({ betaSchedule: 'cosine' });

describe('the last sampling step and image output', () => {
  for (const [name, config] of [['ddpm', {}], ['ddim', { eta: 1 }], ['ddim', {}]] as const) {
    it(`${name} ${JSON.stringify(config)}: the final step returns the clipped x̂₀ and adds no noise`, () => {
      const s = createScheduler(name, { schedule, clipSample: true, ...config });
      s.setTimesteps(10);
      s.stepIndex = s.timesteps.length - 1;
      const t = s.timesteps.at(-1)!;
      const sample = new Rng(1).normalTensor([2, 4, 4, 1], 0, 1.5); // x̂₀ partly outside [−1, 1]
      const eps = tf.zerosLike(sample);
      const out = s.step(eps, t, sample, { generator: new Rng(2) });
      const x0 = Array.from(out.predOriginalSample.dataSync());
      const prev = Array.from(out.prevSample.dataSync());
      const raw = Array.from(sample.dataSync()).map((v) => v / Math.sqrt(schedule.alphasCumprod[t]!));
      expect(raw.some((v) => Math.abs(v) > 1)).toBe(true);
      x0.forEach((v, i) => expect(v).toBeCloseTo(Math.max(-1, Math.min(1, raw[i]!)), 5));
      prev.forEach((v, i) => expect(v).toBeCloseTo(x0[i]!, 5));
      tf.dispose([sample, eps, out.prevSample, out.predOriginalSample]);
    });
  }

  it('ddim useClippedModelOutput recomputes ε̂ from the clipped x̂₀ (diffusers use_clipped_model_output)', () => {
    const x = new Rng(3).normalTensor([1, 3, 3, 1], 0, 1);
    const out = new Rng(4).normalTensor([1, 3, 3, 1], 0, 2);
    const run = (useClippedModelOutput: boolean) => {
      const s = createScheduler('ddim', { schedule, clipSample: true, useClippedModelOutput });
      s.setTimesteps(10);
      s.stepIndex = 3;
      const t = s.timesteps[3]!;
      const r = s.step(out, t, x);
      const prev = Array.from(r.prevSample.dataSync());
      tf.dispose([r.prevSample, r.predOriginalSample]);
      return { prev, t };
    };
    const { prev, t } = run(true);
    const plain = run(false).prev;
    const aT = schedule.alphasCumprod[t]!;
    const aP = schedule.alphasCumprod[t - 100]!;
    const xs = Array.from(x.dataSync());
    const es = Array.from(out.dataSync());
    let differs = false;
    xs.forEach((xi, i) => {
      const x0 = Math.max(-1, Math.min(1, (xi - Math.sqrt(1 - aT) * es[i]!) / Math.sqrt(aT)));
      const epsC = (xi - Math.sqrt(aT) * x0) / Math.sqrt(1 - aT);
      expect(prev[i]).toBeCloseTo(Math.sqrt(aP) * x0 + Math.sqrt(1 - aP) * epsC, 4);
      expect(plain[i]).toBeCloseTo(Math.sqrt(aP) * x0 + Math.sqrt(1 - aP) * es[i]!, 4);
      if (Math.abs(epsC - es[i]!) > 1e-3) differs = true;
    });
    expect(differs).toBe(true); // some x̂₀ were clipped, so the two ε̂ differ
    tf.dispose([x, out]);
  });

  it('clamps out-of-range pixels in PNG grids (−1.02 is black, not a white speck)', () => {
    const img = tf.tensor4d([-1.02, -1, 0, 1, 1.02, 7, -7, 0.999], [1, 2, 4, 1]);
    const { data, width } = gridPixels(img, { padding: 0 });
    expect(width).toBe(4);
    expect(Array.from({ length: 8 }, (_, i) => data[i * 4]!)).toEqual([0, 0, 128, 255, 255, 255, 0, 255]);
    img.dispose();
  });
});
