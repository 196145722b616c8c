import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { createScheduler, dynamicThreshold, sortedQuantile } from '@nutshell/diffusion';
import { fixtures, maxAbsDiff } from './helpers.js';

describe('dynamic thresholding (Imagen, diffusers _threshold_sample)', () => {
  for (const ref of fixtures.threshold) {
    it(`matches numpy for ratio ${ref.ratio}, sampleMaxValue ${ref.maxValue}`, () => {
      const x = tf.tensor(ref.x);
      const y = dynamicThreshold(x, ref.ratio, ref.maxValue);
      expect(y.shape).toEqual([3, 2, 4, 4]);
      expect(maxAbsDiff(y.dataSync(), (ref.y as unknown[]).flat(4) as number[])).toBeLessThan(1e-5);
      // every sample ends in [−1, 1]; where s > 1 some value sits exactly at ±1
      const rows = tf.reshape(tf.abs(y), [3, -1]);
      const maxes = Array.from(tf.max(rows, 1).dataSync());
      ref.s.forEach((s, b) => {
        expect(maxes[b]!).toBeLessThanOrEqual(1 + 1e-6);
        if (s > 1) expect(maxes[b]!).toBeCloseTo(1, 5);
      });
      [x, y, rows].forEach((z) => z.dispose());
    });
  }

  it('the quantile interpolates linearly like numpy', () => {
    expect(sortedQuantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(sortedQuantile([0, 10], 0.995)).toBeCloseTo(9.95, 12);
    expect(sortedQuantile([7], 0.3)).toBe(7);
    expect(sortedQuantile([1, 2, 3], 1)).toBe(3);
  });

  it('is per sample: a sample of small values is left alone while a large one is rescaled', () => {
    const x = tf.tensor2d([[0.5, -0.2, 0.1, 0.3], [4, -8, 2, 1]]);
    const y = dynamicThreshold(x, 1, 100).arraySync() as number[][];
    expect(y[0]).toEqual([0.5, -0.2, 0.1, 0.3].map((v) => Math.fround(v)));
    expect(y[1]![0]).toBeCloseTo(0.5, 6);
    expect(y[1]![1]).toBeCloseTo(-1, 6);
    x.dispose();
  });

  it('does not leak and rejects bad options with typed errors', async () => {
    const x = tf.randomNormal([2, 3, 3, 1], 0, 3, 'float32', 1);
    await expectNoLeak(() => dynamicThreshold(x, 0.9, 2));
    expect(() => dynamicThreshold(x, 0, 2)).toThrow(InvalidArgumentError);
    expect(() => dynamicThreshold(x, 0.9, 0.5)).toThrow(InvalidArgumentError);
    expect(() => dynamicThreshold(tf.zeros([4]), 0.9, 2)).toThrow(ShapeError);
    expect(() => createScheduler('ddim', { thresholding: true, dynamicThresholdingRatio: 1.5 })).toThrow(InvalidArgumentError);
    const s = createScheduler('ddpm', { thresholding: true, sampleMaxValue: 1.5 });
    expect(s.describe()).toMatchObject({ thresholding: true, dynamicThresholdingRatio: 0.995, sampleMaxValue: 1.5 });
    s.setTimesteps(4);
    const out = tf.mul(x, 2);
    await expectNoLeak(() => s.step(out, s.timesteps[0]!, x, { noise: x }));
    s.setTimesteps(4);
    const r = s.step(out, s.timesteps[0]!, x, { noise: x });
    // x̂₀ after thresholding lies in [−1, 1] (unthresholded, it reaches ~|x|/√ᾱ ≫ 1)
    expect(Math.max(...Array.from(r.predOriginalSample.dataSync().map(Math.abs)))).toBeLessThanOrEqual(1 + 1e-6);
    [out, r.prevSample, r.predOriginalSample].forEach((z) => z.dispose());
    x.dispose();
  });
});
