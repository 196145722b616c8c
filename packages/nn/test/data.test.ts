import { ShapeError, tf, type Tensor } from '@nutshell/core';
import { DataLoader } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

describe('DataLoader', () => {
  const x = tf.reshape(tf.range(0, 10), [10, 1]);
  const y = tf.range(0, 10, 1, 'int32');

  it('batches in order, keeps the last partial batch unless dropLast', () => {
    const dl = new DataLoader([x, y], { batchSize: 4 });
    expect(dl.length).toBe(3);
    const sizes = [...dl].map((b) => (b as Tensor[])[0]!.shape[0]);
    expect(sizes).toEqual([4, 4, 2]);
    const d2 = new DataLoader({ x, y }, { batchSize: 4, dropLast: true });
    const batches = [...d2] as { x: Tensor; y: Tensor }[];
    expect(batches).toHaveLength(2);
    expect(Array.from(batches[1]!.y.dataSync())).toEqual([4, 5, 6, 7]);
  });

  it('shuffles with a seed: reproducible, different per epoch, a permutation', () => {
    const a = new DataLoader(y, { batchSize: 10, shuffle: true, seed: 1 });
    const b = new DataLoader(y, { batchSize: 10, shuffle: true, seed: 1 });
    const e0 = Array.from(([...a][0] as Tensor).dataSync());
    const e1 = Array.from(([...a][0] as Tensor).dataSync());
    expect(Array.from(([...b][0] as Tensor).dataSync())).toEqual(e0);
    expect(e1).not.toEqual(e0);
    expect([...e0].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // resuming mid-epoch yields the remaining batches of that epoch
    const c = new DataLoader(y, { batchSize: 3, shuffle: true, seed: 1 });
    const rest = [...c.batches(0, 2)].flatMap((t) => Array.from((t as Tensor).dataSync()));
    expect(rest).toEqual(e0.slice(6));
  });

  it('collates Dataset samples; rejects mismatched tensors', () => {
    const ds = { length: 5, get: (i: number) => ({ a: [i, i * 2], b: i }) };
    const dl = new DataLoader(ds, { batchSize: 2 });
    const first = [...dl][0] as { a: Tensor; b: Tensor };
    expect(first.a.shape).toEqual([2, 2]);
    expect(Array.from(first.b.dataSync())).toEqual([0, 1]);
    expect(() => new DataLoader([x, tf.zeros([3])], { batchSize: 2 })).toThrow(ShapeError);
  });
});
