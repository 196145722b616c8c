import { describe, expect, it } from 'vitest';
import { Rng, rngFor, setSeed, useBackend } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
    expect(new Rng('42').nextUint32()).toBe(new Rng(42).nextUint32());
  });

  it('uniform has the moments of U[0,1) and normal those of N(0,1)', () => {
    const rng = new Rng(7);
    const n = 200_000;
    let s = 0, s2 = 0, ns = 0, ns2 = 0, ns4 = 0, min = 1, max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      s += u; s2 += u * u; min = Math.min(min, u); max = Math.max(max, u);
      const z = rng.normal();
      ns += z; ns2 += z * z; ns4 += z ** 4;
    }
    // Standard errors: mean 1/sqrt(12 n) ≈ 6.5e-4; allow 5 sigma.
    expect(Math.abs(s / n - 0.5)).toBeLessThan(3.3e-3);
    expect(Math.abs(s2 / n - 1 / 3)).toBeLessThan(3.5e-3);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(ns / n)).toBeLessThan(0.012);
    expect(Math.abs(ns2 / n - 1)).toBeLessThan(0.02);
    expect(Math.abs(ns4 / n - 3)).toBeLessThan(0.1); // kurtosis of a normal
  });

  it('int is unbiased and in range; shuffle is a permutation', () => {
    const rng = new Rng(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
    // chi-square with 5 dof; 20.5 is the 0.999 quantile
    const chi = counts.reduce((acc, c) => acc + (c - 10_000) ** 2 / 10_000, 0);
    expect(chi).toBeLessThan(20.5);
    const perm = rng.permutation(100);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(perm).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => rng.int(0)).toThrow(/positive|integer/);
  });

  it('fork gives independent, reproducible streams', () => {
    const a = new Rng(5).fork('init'), b = new Rng(5).fork('init'), c = new Rng(5).fork('dropout');
    expect(a.uniform()).toBe(b.uniform());
    expect(a.uniform()).not.toBe(c.uniform());
  });

  it('seeded tensors are reproducible and do not leak', async () => {
    await useBackend('cpu');
    const t1 = new Rng(3).normalTensor([4, 4]);
    const t2 = new Rng(3).normalTensor([4, 4]);
    expect(Array.from(t1.dataSync())).toEqual(Array.from(t2.dataSync()));
    t1.dispose(); t2.dispose();
    await expectNoLeak(() => new Rng(3).uniformTensor([8], -1, 1));
  });

  it('rngFor uses the default stream without a seed', () => {
    setSeed(9);
    const x = rngFor().uniform();
    setSeed(9);
    expect(rngFor().uniform()).toBe(x);
    expect(rngFor(11).uniform()).toBe(new Rng(11).uniform());
    expect(() => new Rng(Number.NaN)).toThrow(/finite/);
  });
});
