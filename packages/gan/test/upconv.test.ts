import { Rng, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { FastConvTranspose2d } from '@nutshell/gan';
import { ConvTranspose2d } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { arr, close } from './helpers.js';

describe('FastConvTranspose2d', () => {
  const cases: [string, number, number, number, number?][] = [
    ['4×4 / stride 2 / padding 1 (fast path)', 4, 2, 1],
    ['3×3 / stride 1 / padding 1 (fast path)', 3, 1, 1],
    ['3×3 / stride 2 / padding 1 / output padding 1 (parent path)', 3, 2, 1, 1],
    ['4×4 / stride 2 / padding 0 (parent path)', 4, 2, 0],
  ];
  for (const [name, k, s, p, op] of cases) {
    it(`equals nn's ConvTranspose2d, values and gradients: ${name}`, () => {
      const a = new ConvTranspose2d(3, 5, k, { stride: s, padding: p, outputPadding: op ?? 0, seed: 4 });
      const b = new FastConvTranspose2d(3, 5, k, { stride: s, padding: p, outputPadding: op ?? 0, seed: 4 });
      // Same seed → same initial weights and parameter names.
      expect(Object.keys(b.stateDict())).toEqual(Object.keys(a.stateDict()));
      close(arr(b.weight), arr(a.weight), 0);
      const x = new Rng(1).normalTensor([2, 5, 6, 3]);
      const up = new Rng(2).normalTensor(a.forward(x).shape);
      const ya = a.forward(x);
      const yb = b.forward(x);
      expect(yb.shape).toEqual(ya.shape);
      close(arr(yb), arr(ya), 1e-5);
      const ga = tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(a.forward(xi), up)))([x]);
      const gb = tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(b.forward(xi), up)))([x]);
      close(arr(gb[0]!), arr(ga[0]!), 1e-5);
      const gwa = tf.variableGrads(() => tf.sum(tf.mul(a.forward(x), up)) as tf.Scalar, [a.weight as tf.Variable]);
      const gwb = tf.variableGrads(() => tf.sum(tf.mul(b.forward(x), up)) as tf.Scalar, [b.weight as tf.Variable]);
      close(arr(Object.values(gwb.grads)[0]!), arr(Object.values(gwa.grads)[0]!), 1e-4);
      tf.dispose([x, up, ya, yb, ...ga, ...gb, gwa.value, gwb.value, ...Object.values(gwa.grads), ...Object.values(gwb.grads)]);
      a.dispose();
      b.dispose();
    });
  }
  it('does not leak', async () => {
    const m = new FastConvTranspose2d(2, 3, 4, { stride: 2, padding: 1, seed: 0 });
    const x = tf.ones([1, 3, 3, 2]);
    await expectNoLeak(() => m.forward(x));
    x.dispose();
    m.dispose();
  });
});
