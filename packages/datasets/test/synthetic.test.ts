import { expectNoLeak } from '@nutshell/core/testing';
import { drawShape, gaussianGrid, gaussianRing, moons, shapes, swissRoll } from '@nutshell/datasets';
import { describe, expect, it } from 'vitest';

describe('synthetic sets', () => {
  it('8-Gaussian ring: points lie near their mode centre on the circle', () => {
    const d = gaussianRing({ n: 2000, seed: 1 });
    expect(d.length).toBe(2000);
    let maxErr = 0;
    for (const { x, y } of d) {
      const angle = (2 * Math.PI * (y as number)) / 8;
      maxErr = Math.max(maxErr, Math.hypot(x[0]! - 2 * Math.cos(angle), x[1]! - 2 * Math.sin(angle)));
    }
    expect(maxErr).toBeLessThan(0.02 * 6);
    const counts = d.labelCounts();
    expect(counts.length).toBe(8);
    for (const c of counts) expect(Math.abs(c - 250)).toBeLessThan(60);
    expect(gaussianRing({ n: 50, seed: 1 }).x).toEqual(gaussianRing({ n: 50, seed: 1 }).x);
    expect(gaussianRing({ n: 50, seed: 2 }).x).not.toEqual(gaussianRing({ n: 50, seed: 1 }).x);
  });

  it('grid: 25 modes centred on the origin with spacing 2', () => {
    const d = gaussianGrid({ n: 3000, seed: 3 });
    let sx = 0;
    let sy = 0;
    for (const { x, y } of d) {
      const m = y as number;
      expect(Math.abs(x[0]! - ((m % 5) * 2 - 4))).toBeLessThan(0.35);
      expect(Math.abs(x[1]! - (Math.floor(m / 5) * 2 - 4))).toBeLessThan(0.35);
      sx += x[0]!;
      sy += x[1]!;
    }
    expect(Math.abs(sx / d.length)).toBeLessThan(0.2);
    expect(Math.abs(sy / d.length)).toBeLessThan(0.2);
  });

  it('swiss roll without noise: radius equals t', () => {
    const d = swissRoll({ n: 500, seed: 4 });
    for (const { x, y } of d) {
      const t = y as number;
      expect(Math.hypot(x[0]!, x[1]!)).toBeCloseTo(t, 4);
      expect(t).toBeGreaterThanOrEqual(1.5 * Math.PI);
      expect(t).toBeLessThan(4.5 * Math.PI);
    }
    expect(swissRoll({ n: 10, dims: 3 }).shape).toEqual([3]);
  });

  it('moons without noise lie on their half circles, classes balanced', () => {
    const d = moons({ n: 101, noise: 0, seed: 5 });
    expect(d.labelCounts()).toEqual([51, 50]);
    for (const { x, y } of d) {
      const [cx, cy] = y === 0 ? [0, 0] : [1, 0.5];
      expect(Math.hypot(x[0]! - cx, x[1]! - cy)).toBeCloseTo(1, 5);
      if (y === 0) expect(x[1]!).toBeGreaterThanOrEqual(-1e-6);
      else expect(x[1]!).toBeLessThanOrEqual(0.5 + 1e-6);
    }
  });

  it('shapes: rasterised areas match geometry; dataset is seeded and labelled', async () => {
    const size = 200;
    const p = { cx: 100, cy: 100, r: 50 };
    const area = (img: Float32Array) => img.reduce((a, v) => a + v, 0);
    expect(area(drawShape('circle', p, size)) / (Math.PI * 50 * 50)).toBeCloseTo(1, 2);
    expect(area(drawShape('square', p, size))).toBe(100 * 100);
    expect(area(drawShape('triangle', p, size)) / (100 * 100 / 2)).toBeCloseTo(1, 1);
    expect(area(drawShape('cross', p, size)) / (2 * 100 * (100 / 3) - (100 / 3) ** 2)).toBeCloseTo(1, 1);
    const d = shapes({ n: 200, seed: 7 });
    expect(d.shape).toEqual([28, 28, 1]);
    expect(d.classes).toEqual(['circle', 'square', 'triangle', 'cross']);
    for (const c of d.labelCounts()) expect(c).toBeGreaterThan(30);
    expect(shapes({ n: 5, seed: 7 }).x).toEqual(d.take(5).x);
    const noisy = shapes({ n: 5, seed: 7, noise: 0.1 });
    expect(Math.min(...noisy.x)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...noisy.x)).toBeLessThanOrEqual(1);
    await expectNoLeak(async () => {
      for await (const b of d.batches({ batchSize: 64 })) {
        b.x.dispose();
        b.y?.dispose();
      }
    });
  });
});
