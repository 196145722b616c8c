import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Rng, tensor, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { dequantizeVQ, dequantizeVQValues, kmeans, packIndices, quantizeVQ, unpackIndices, vqBitsPerParameter, vqStorageBytes } from '@nutshell/quantize';

interface Case { name: string; d: number; k: number; data: number[]; kmeansPlusPlusInertia: number; fixedInit: { centers: number[]; labels: number[]; inertia: number; iterations: number } }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/kmeans.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('k-means (vector quantization codebooks)', () => {
  it('a hand-computed case: two 1-D clusters', () => {
    const r = kmeans([0, 0.1, 0.2, 10, 10.2, 10.4], 1, 2, { init: [0, 10] });
    expect([...r.labels]).toEqual([0, 0, 0, 1, 1, 1]);
    expect(r.centroids[0]).toBeCloseTo(0.1, 6);
    expect(r.centroids[1]).toBeCloseTo(10.2, 6);
    expect(r.inertia).toBeCloseTo(0.01 + 0.01 + 0.04 + 0.04, 9);
    // k-means++ finds the same partition whatever centre it draws first.
    for (const seed of [0, 1, 2, 3]) expect(kmeans([0, 0.1, 0.2, 10, 10.2, 10.4], 1, 2, { seed }).inertia).toBeCloseTo(0.1, 9);
  });

  it('a hand-computed 2-D case through quantizeVQ: 1-bit codes, d = 2', () => {
    // Sub-vectors (1,1) (1,3) (9,9) (9,11): centroids (1,2) and (9,10), error 1 per sub-vector.
    const q = quantizeVQ([1, 1, 1, 3, 9, 9, 9, 11], { bits: 1, dim: 2 }, [2, 4]);
    const books = [[q.codebooks[0], q.codebooks[1]], [q.codebooks[2], q.codebooks[3]]].sort((a, b) => a[0]! - b[0]!);
    expect(books).toEqual([[1, 2], [9, 10]]);
    expect([...dequantizeVQValues(q)]).toEqual([1, 2, 1, 2, 9, 10, 9, 10]);
    expect(q.inertia).toBeCloseTo(4, 9);
    const low = q.codebooks[0] === 1 ? 0 : 1;
    // 4 one-bit indices, LSB first.
    expect([...q.indices]).toEqual([low === 0 ? 0b1100 : 0b0011]);
    expect(vqStorageBytes(q)).toBe(1 + 4 * 4);
    expect(vqBitsPerParameter(q)).toBe((8 * 17) / 8);
  });

  for (const c of fixture.cases) {
    it(`reproduces scikit-learn Lloyd from fixed centres exactly: ${c.name}`, () => {
      const r = kmeans(c.data, c.d, c.k, { init: c.data.slice(0, c.k * c.d) });
      expect([...r.labels]).toEqual(c.fixedInit.labels);
      for (let i = 0; i < c.fixedInit.centers.length; i++) expect(r.centroids[i]!).toBeCloseTo(c.fixedInit.centers[i]!, 5);
      expect(r.inertia / c.fixedInit.inertia).toBeCloseTo(1, 6);
      expect(r.iterations).toBe(c.fixedInit.iterations);
    });
    it(`k-means++ (10 seeded restarts) reaches scikit-learn's inertia: ${c.name}`, () => {
      const r = kmeans(c.data, c.d, c.k, { seed: 0, nInit: 10 });
      // Both are local optima from random starts: within 3% (equal on the separated blobs).
      expect(r.inertia).toBeLessThanOrEqual(c.kmeansPlusPlusInertia * (c.name === 'blobs' ? 1 + 1e-9 : 1.03));
      expect(r.inertia).toBeGreaterThan(c.kmeansPlusPlusInertia * 0.9);
    });
  }

  it('same seed → same codes; another seed may differ; bits/param counts indices and codebooks', () => {
    const w = fixture.cases[1]!.data; // 2048 Gaussian values
    const a = quantizeVQ(w, { bits: 4, dim: 4, seed: 5 });
    const b = quantizeVQ(w, { bits: 4, dim: 4, seed: 5 });
    expect(b.indices).toEqual(a.indices);
    expect(b.codebooks).toEqual(a.codebooks);
    const c = quantizeVQ(w, { bits: 4, dim: 4, seed: 6 });
    expect(c.indices).not.toEqual(a.indices);
    // 512 sub-vectors × 4 bits + 16 × 4 float32: 1 + 2048·8/... exact bytes.
    expect(vqStorageBytes(a)).toBe(512 / 2 + 16 * 4 * 4);
    expect(vqBitsPerParameter(a)).toBeCloseTo((8 * (256 + 256)) / 2048, 12);
    // The dequantized values are codebook rows and their squared error is the inertia.
    const d = dequantizeVQValues(a);
    let se = 0;
    for (let i = 0; i < w.length; i++) se += (d[i]! - w[i]!) ** 2;
    expect(se).toBeCloseTo(a.inertia, 6);
  });

  it('per-group codebooks: each group of values has its own 2^bits entries', () => {
    const r = new Rng(3);
    // Two groups with very different scales: one shared codebook would waste codes on the wide one.
    const w = Float32Array.from({ length: 512 }, (_, i) => r.normal() * (i < 256 ? 0.01 : 1));
    const perTensor = quantizeVQ(w, { bits: 3, dim: 2 });
    const perGroup = quantizeVQ(w, { bits: 3, dim: 2, groupSize: 256 });
    expect(perGroup.codebooks.length).toBe(2 * 8 * 2);
    // The narrow group keeps its detail only with its own codebook.
    const narrowErr = (q: ReturnType<typeof quantizeVQ>) => {
      const v = dequantizeVQValues(q);
      let se = 0;
      for (let i = 0; i < 256; i++) se += (v[i]! - w[i]!) ** 2;
      return se;
    };
    expect(narrowErr(perGroup)).toBeLessThan(narrowErr(perTensor) / 5);
    const d = dequantizeVQValues(perGroup);
    const idx = unpackIndices(perGroup.indices, 3, 256);
    for (let i = 0; i < 256; i++) {
      const g = i < 128 ? 0 : 1;
      expect(d[2 * i]).toBe(perGroup.codebooks[(g * 8 + idx[i]!) * 2]);
    }
    // A ragged tail: 7 values with dim 2 pad one zero; dequantize drops it.
    const t = quantizeVQ([1, 2, 3, 4, 5, 6, 7], { bits: 2, dim: 2 }, [7]);
    expect(dequantizeVQValues(t).length).toBe(7);
  });

  it('packs b-bit indices LSB first (hand-packed 3-bit case) and round-trips 1–16 bits', () => {
    expect([...packIndices([1, 2, 3, 4, 5, 6, 7, 0], 3)]).toEqual([209, 88, 31]);
    const r = new Rng(9);
    for (let bits = 1; bits <= 16; bits++) {
      const v = Array.from({ length: 37 }, () => Math.floor(r.uniform() * 2 ** bits));
      const p = packIndices(v, bits);
      expect(p.length).toBe(Math.ceil((37 * bits) / 8));
      expect([...unpackIndices(p, bits, 37)]).toEqual(v);
    }
    expect(() => packIndices([4], 2)).toThrow(InvalidArgumentError);
  });

  it('rejects bad options with typed errors; dequantizeVQ leaks nothing', async () => {
    expect(() => quantizeVQ([1, 2, 3, 4], { bits: 0 })).toThrow(InvalidArgumentError);
    expect(() => quantizeVQ([1, 2, 3, 4], { bits: 2, dim: 2, groupSize: 3 })).toThrow(/multiple of dim/);
    expect(() => quantizeVQ([1, Number.NaN], { bits: 1 })).toThrow(/finite/);
    expect(() => kmeans([1, 2, 3], 1, 4)).toThrow(InvalidArgumentError);
    const x = tensor(new Rng(1).uniform() > 2 ? [0] : Array.from({ length: 64 }, (_, i) => Math.sin(i)), [8, 8]);
    const q = quantizeVQ(x, { bits: 2, dim: 4 });
    await expectNoLeak(() => dequantizeVQ(q));
    const y = dequantizeVQ(q);
    expect(y.shape).toEqual([8, 8]);
    tf.dispose([x, y]);
  });
});
