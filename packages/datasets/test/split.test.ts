import fc from 'fast-check';
import { ArrayDataset, RecordDataset, assignSplit, splitIndices, stratifiedSplitIndices, unitHash } from '@nutshell/datasets';
import { describe, expect, it } from 'vitest';

describe('deterministic splits', () => {
  it('splitIndices: disjoint, covering, sized by fractions, reproducible (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.integer(), (n, f, seed) => {
        const s = splitIndices(n, { a: f, b: 1 - f }, seed);
        const all = [...s.a!, ...s.b!].sort((x, y) => x - y);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(s.a!.length).toBe(Math.round(f * n));
        expect(splitIndices(n, { a: f, b: 1 - f }, seed)).toEqual(s);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects bad fractions', () => {
    expect(() => splitIndices(10, { a: 0.5, b: 0.4 })).toThrow(/sum to 1/);
    expect(() => splitIndices(10, { a: 0, b: 1 })).toThrow(/in \(0, 1\]/);
    expect(() => splitIndices(10, {})).toThrow(/at least one/);
  });

  it('stratified split keeps class proportions', () => {
    const labels = Int32Array.from({ length: 1000 }, (_, i) => (i % 10 < 7 ? 0 : 1));
    const s = stratifiedSplitIndices(labels, { train: 0.8, test: 0.2 }, 1);
    const ones = s.test!.reduce((a, i) => a + labels[i]!, 0);
    expect(s.test!.length).toBe(200);
    expect(ones).toBe(60);
  });

  it('hash assignment is stable and close to the fractions', () => {
    const keys = Array.from({ length: 20000 }, (_, i) => `word${i}`);
    const test = keys.filter((k) => assignSplit(k, { train: 0.9, test: 0.1 }, 3) === 'test').length;
    expect(test / keys.length).toBeGreaterThan(0.09);
    expect(test / keys.length).toBeLessThan(0.11);
    expect(unitHash('abc', 1)).toBe(unitHash('abc', 1));
    expect(unitHash('abc', 1)).not.toBe(unitHash('abc', 2));
  });

  it('dataset splits are disjoint and reproducible', () => {
    const x = Float32Array.from({ length: 200 }, (_, i) => i);
    const ds = new ArrayDataset({ x, shape: [2], y: Int32Array.from({ length: 100 }, (_, i) => i % 3), classes: ['a', 'b', 'c'] });
    const a = ds.split({ train: 0.7, val: 0.1, test: 0.2 }, { seed: 4 });
    const ids = (d: ArrayDataset) => Array.from({ length: d.length }, (_, i) => d.example(i).x[0]! / 2);
    const all = [...ids(a.train!), ...ids(a.val!), ...ids(a.test!)].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(ids(ds.split({ train: 0.7, val: 0.1, test: 0.2 }, { seed: 4 }).test!)).toEqual(ids(a.test!));
    const rec = new RecordDataset(Array.from({ length: 50 }, (_, i) => ({ k: `k${i % 10}`, i })));
    const r = rec.split({ train: 0.5, test: 0.5 }, { key: (v) => v.k, seed: 1 });
    const trainKeys = new Set(r.train!.records.map((v) => v.k));
    expect(r.test!.records.some((v) => trainKeys.has(v.k))).toBe(false);
    expect([...rec.batches({ batchSize: 20 })].map((b) => b.length)).toEqual([20, 20, 10]);
  });

  it('validates shapes and labels', () => {
    expect(() => new ArrayDataset({ x: new Float32Array(5), shape: [2] })).toThrow(/multiple/);
    expect(() => new ArrayDataset({ x: new Float32Array(4), shape: [2], y: new Int32Array(3) })).toThrow(/expected 2/);
    expect(() => new ArrayDataset({ x: new Float32Array(4), shape: [2], y: Int32Array.from([0, 5]), classes: ['a', 'b'] })).toThrow(/outside/);
    expect(() => [...new ArrayDataset({ x: new Float32Array(4), shape: [2] }).batchArrays({ batchSize: 0 })]).toThrow(/batchSize/);
  });
});
