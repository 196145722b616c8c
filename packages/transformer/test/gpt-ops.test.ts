import { tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { gelu } from '@nutshell/nn';
import { embed, geluNew, mm, mmT } from '@nutshell/transformer';
import { describe, expect, it } from 'vitest';

/** Max |a − b| over gradients of sum(f(·)·r) computed by two implementations. */
function gradDiff(fast: (...x: Tensor[]) => Tensor, ref: (...x: Tensor[]) => Tensor, inputs: Tensor[]): { value: number; grad: number } {
  return tf.tidy(() => {
    const r = tf.randomNormal(ref(...inputs).shape, 0, 1, 'float32', 3);
    const gf = tf.grads((...x: Tensor[]) => tf.sum(tf.mul(fast(...x), r)))(inputs);
    const gr = tf.grads((...x: Tensor[]) => tf.sum(tf.mul(ref(...x), r)))(inputs);
    const value = tf.max(tf.abs(tf.sub(fast(...inputs), ref(...inputs)))).dataSync()[0]!;
    const grad = Math.max(...gf.map((g, i) => tf.max(tf.abs(tf.sub(g, gr[i]!))).dataSync()[0]!));
    return { value, grad };
  });
}

describe('fast ops with hand-written gradients', () => {
  it('mm / mmT match tf.matMul in value and gradient (2-D, batched 4-D, 3-D × 2-D)', () => {
    const cases: [number[], number[]][] = [[[5, 7], [7, 3]], [[2, 3, 5, 4], [2, 3, 4, 6]], [[2, 5, 7], [7, 3]]];
    for (const [sa, sb] of cases) {
      const a = tf.randomNormal(sa, 0, 1, 'float32', 1);
      const b = tf.randomNormal(sb, 0, 1, 'float32', 2);
      // tfjs' own BatchMatMul gradient breaks on 3-D × 2-D broadcasting, so that reference flattens.
      const ref = (x?: Tensor, y?: Tensor) => (x!.rank === 3 && y!.rank === 2 ? tf.reshape(tf.matMul(tf.reshape(x!, [-1, sa.at(-1)!]), y!), [...sa.slice(0, -1), sb[1]!]) : tf.matMul(x!, y!));
      const d = gradDiff(mm, ref, [a, b]);
      expect(d.value).toBeLessThan(1e-5);
      expect(d.grad).toBeLessThan(1e-4);
      a.dispose();
      b.dispose();
    }
    const q = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 4);
    const k = tf.randomNormal([2, 3, 6, 4], 0, 1, 'float32', 5);
    const d = gradDiff(mmT, (x, y) => tf.matMul(x!, y!, false, true), [q, k]);
    expect(d.value).toBeLessThan(1e-5);
    expect(d.grad).toBeLessThan(1e-4);
    q.dispose();
    k.dispose();
  });

  it('embed matches tf.gather in value and gradient, including repeated ids', () => {
    const w = tf.randomNormal([11, 6], 0, 1, 'float32', 6);
    const ids = tf.tensor2d([[1, 1, 3], [10, 0, 1]], [2, 3], 'int32');
    const d = gradDiff((x) => embed(x!, ids), (x) => tf.reshape(tf.gather(x!, tf.reshape(ids, [-1])), [2, 3, 6]), [w]);
    expect(d.value).toBe(0);
    expect(d.grad).toBeLessThan(1e-5);
    w.dispose();
    ids.dispose();
  });

  it('geluNew equals the tanh-approximate GELU', () => {
    const x = tf.linspace(-6, 6, 101);
    const d = gradDiff(geluNew, (y) => gelu(y!, 'tanh'), [x]);
    expect(d.value).toBeLessThan(1e-6);
    expect(d.grad).toBeLessThan(1e-5);
    x.dispose();
  });

  it('leaks nothing through forward and backward', async () => {
    const w = tf.randomNormal([11, 6]);
    const ids = tf.tensor1d([1, 2, 3], 'int32');
    await expectNoLeak(() => tf.grads((x: Tensor) => tf.sum(mm(embed(x, ids), tf.ones([6, 2]))))([w]), 'mm+embed grads');
    w.dispose();
    ids.dispose();
  });
});
