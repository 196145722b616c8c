import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nativeBackend from '@nutshell/backend-native';
import { availability, expectClose, expectParity, randomTensor, run, skipNote } from './helpers.js';

const positive = (seed: string, shape: number[]) => tf.add(tf.abs(randomTensor(seed, shape)), 0.5);

describe.skipIf(!availability.available)(`native elementwise, layout and reduction kernels vs tfjs cpu${skipNote}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['squaredDifference', tf.squaredDifference],
    ['maximum', tf.maximum],
    ['minimum', tf.minimum],
  ];
  const shapes: [number[], number[]][] = [
    [[4, 5, 6], [4, 5, 6]],
    [[4, 5, 6], [6]],
    [[4, 1, 6], [5, 1]],
    [[1], [3, 7]],
    [[2, 3, 1, 4, 1, 2, 1, 3, 2], [2, 1, 5, 1, 3, 1, 2, 1, 1]], // rank 9: falls back when it does not collapse
  ];
  for (const [name, op] of binary) {
    for (const [sa, sb] of shapes) {
      it(`${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, async () => {
        await expectParity(() => op(randomTensor('a', sa), name === 'div' ? positive('b', sb) : randomTensor('b', sb)));
      });
    }
  }

  it('pow with tensor and scalar exponents', async () => {
    await expectParity(() => [tf.pow(positive('a', [5, 7]), randomTensor('b', [7])), tf.pow(randomTensor('a', [5, 7]), 2), tf.pow(positive('a', [3, 4]), 1.5)]);
  });

  it('binary ops keep cpu semantics for int32 (fallback) and propagate NaN', async () => {
    await expectParity(() => [tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32')).toFloat()]);
    const [out] = await run('native', () => [tf.maximum(tf.tensor1d([NaN, 1]), tf.tensor1d([0, NaN])), tf.add(tf.tensor1d([2], 'int32'), 3)]);
    expect(Number.isNaN(out!.values[0]!) && Number.isNaN(out!.values[1]!)).toBe(true);
  });

  const unary: [string, (x: tf.Tensor) => tf.Tensor, boolean][] = [
    ['exp', tf.exp, false],
    ['log', tf.log, true],
    ['tanh', tf.tanh, false],
    ['sqrt', tf.sqrt, true],
    ['rsqrt', tf.rsqrt, true],
    ['square', tf.square, false],
    ['neg', tf.neg, false],
    ['abs', tf.abs, false],
    ['relu', tf.relu, false],
    ['sigmoid', tf.sigmoid, false],
    ['reciprocal', tf.reciprocal, true],
  ];
  for (const [name, op, needsPositive] of unary) {
    it(`${name}`, async () => {
      await expectParity(() => op(needsPositive ? positive('x', [3, 50]) : randomTensor('x', [3, 50], 3)));
    });
  }

  it('step (relu\'s gradient) with alpha, zeros and NaN', async () => {
    await expectParity(() => [
      tf.step(randomTensor('x', [3, 50], 3)),
      tf.step(tf.tensor1d([-1, 0, 2, -0]), 0.25),
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), randomTensor('w', [4, 9]))))(randomTensor('x', [4, 9])),
    ]);
    const [out] = await run('native', () => tf.step(tf.tensor1d([-1, 0, 2, NaN]), 0.25));
    expect([...out!.values.slice(0, 3)]).toEqual([0.25, 0.25, 1]);
    expect(Number.isNaN(out!.values[3]!)).toBe(true);
  });

  it('transpose (several permutations, ranks 2–5)', async () => {
    await expectParity(() => [
      tf.transpose(randomTensor('x', [7, 9])),
      tf.transpose(randomTensor('x', [2, 3, 4, 5]), [0, 2, 1, 3]),
      tf.transpose(randomTensor('x', [2, 3, 4, 5]), [3, 1, 0, 2]),
      tf.transpose(randomTensor('x', [2, 1, 3, 2, 4]), [4, 3, 2, 1, 0]),
    ]);
  });

  it('slice, split and concat along inner and outer axes', async () => {
    await expectParity(() => [
      tf.slice(randomTensor('x', [4, 6, 8]), [1, 2, 3], [2, 3, 4]),
      tf.slice(randomTensor('x', [4, 6, 8]), [1, 0, 0], [2, 6, 8]), // contiguous: a view
      ...tf.split(randomTensor('x', [2, 5, 12]), 3, 2),
      ...tf.split(randomTensor('x', [2, 5, 12]), [1, 4], 1),
      tf.concat([randomTensor('a', [2, 3, 2]), randomTensor('b', [2, 3, 5]), randomTensor('c', [2, 3, 1])], 2),
      tf.concat([randomTensor('a', [2, 3]), randomTensor('b', [4, 3])], 0),
      tf.concat([randomTensor('a', [2, 0, 3]), randomTensor('b', [2, 2, 3])], 1),
    ]);
  });

  it('sum / mean / max / min over trailing, leading, inner and all axes, keepDims', async () => {
    await expectParity(() => {
      const x = randomTensor('x', [4, 5, 6]);
      return [
        tf.sum(x, -1), tf.sum(x, [0, 2], true), tf.sum(x), tf.mean(x, 1), tf.mean(x, [1, 2], true), tf.mean(x),
        tf.max(x, 0), tf.max(x, -1, true), tf.min(x, [0, 1]), tf.min(x),
      ];
    });
  });

  it('sum / mean over leading and interleaved axes in one pass (conv bias and GroupNorm shapes)', async () => {
    await expectParity(() => {
      const bias = randomTensor('b', [3, 7, 5, 8]); // NHWC: a conv bias gradient sums over N, H, W
      const groups = randomTensor('g', [2, 9, 4, 3]); // [N, HW, G, C/G]: GroupNorm's moments
      const ones = randomTensor('o', [1, 6, 1, 4, 1]); // size-1 axes, reduced or kept
      return [
        tf.sum(bias, [0, 1, 2]), tf.mean(bias, [0, 1, 2], true), tf.sum(bias, [0, 2]), tf.mean(bias, [1, 3]),
        tf.sum(groups, [1, 3], true), tf.mean(groups, [1, 3], true), tf.sum(groups, [0, 1, 3]),
        tf.sum(ones, [0, 1]), tf.mean(ones, [1, 2, 4], true), tf.sum(ones, [0, 2]),
      ];
    }, 1e-5);
    // a direct reference too: column sums of [[1, 2], [3, 4], [5, 6]] and the GroupNorm-style mean
    await tf.setBackend('native');
    const cols = tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), 0);
    expect(Array.from(cols.dataSync())).toEqual([9, 12]);
    const m = tf.mean(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]), [1, 3], true);
    expect(m.shape).toEqual([1, 1, 2, 1]);
    expect(Array.from(m.dataSync())).toEqual([3.5, 5.5]); // w = 0: mean(1, 2, 5, 6); w = 1: mean(3, 4, 7, 8)
    tf.dispose([cols, m]);
  });

  it('softmax and logSoftmax over the last axis', async () => {
    await expectParity(() => [tf.softmax(randomTensor('x', [3, 4, 65], 4)), tf.logSoftmax(randomTensor('x', [6, 9], 4))]);
  });

  it('gradients through a layer-norm + softmax attention block match cpu', async () => {
    await expectParity(() => {
      const x = randomTensor('x', [2, 8, 16]);
      const g = randomTensor('g', [16]);
      const f = (xx: tf.Tensor, gg: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, -1, true);
        const y = tf.mul(tf.mul(tf.sub(xx, mean), tf.rsqrt(tf.add(variance, 1e-5))), gg);
        const [q, k] = tf.split(tf.reshape(y, [2, 8, 4, 4]), 2, 3) as [tf.Tensor, tf.Tensor];
        const att = tf.softmax(tf.matMul(tf.transpose(q, [0, 2, 1, 3]), tf.transpose(k, [0, 2, 1, 3]), false, true));
        return tf.sum(tf.mul(tf.tanh(att), tf.pow(tf.sigmoid(tf.mean(y, 0)), 2).sum()));
      };
      return tf.grads(f)([x, g]);
    }, 1e-4);
  });

  it('values match direct JS references (not only the cpu backend)', async () => {
    const [sum, soft, tr] = await run('native', () => [
      tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), 1),
      tf.softmax(tf.tensor1d([0, Math.log(3)])),
      tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3])),
    ]);
    expectClose(sum!.values, [6, 15]);
    expectClose(soft!.values, [0.25, 0.75], 1e-6);
    expect(Array.from(tr!.values)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('does not leak tensors', async () => {
    await tf.setBackend('native');
    await expectNoLeak(() => {
      const x = randomTensor('x', [3, 4, 6]);
      const ys = [tf.add(x, 1), tf.transpose(x, [2, 0, 1]), tf.sum(x, [0, 2]), tf.softmax(x), ...tf.split(x, 2, 2), tf.concat([x, x], 1)];
      tf.grad((z: tf.Tensor) => tf.sum(tf.softmax(tf.mul(z, z))))(x).dispose();
      tf.dispose([x, ...ys]);
    });
  });
});
