import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import nativeBackend from '@nutshell/backend-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availability, expectParity, randomTensor, run, skipNote } from './helpers.js';

// Forward results must be bit-identical to cpu (same comparisons, same summation order).
const EXACT = 0;

describe.skipIf(!availability.available)(`native MaxPool, GatherV2 and their gradients vs tfjs cpu${skipNote}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const pools: [string, number[], number | [number, number], number | [number, number], 'valid' | 'same' | number, 'floor' | 'ceil' | undefined][] = [
    ['2×2 stride 2 valid (SmallCNN)', [3, 28, 28, 16], 2, 2, 'valid', undefined],
    ['3×3 stride 2 same (overlapping windows)', [2, 11, 10, 5], 3, 2, 'same', undefined],
    ['[2,3] stride [1,2] valid', [2, 7, 9, 3], [2, 3], [1, 2], 'valid', undefined],
    ['3×3 stride 2 pad 1 ceil (its gradient keeps the cpu kernel: tfjs drops the rounding mode)', [1, 8, 8, 4], 3, 2, 1, 'ceil'],
  ];
  for (const [label, shape, f, s, pad, rounding] of pools) {
    it(`maxPool ${label}: forward and gradient`, async () => {
      const pool = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, f, s, pad, rounding);
      await expectParity(() => pool(randomTensor('x', shape)), EXACT, 'forward');
      // Gradient of Σ pool(x)·w, with ties (rounded inputs) so the first-maximum rule matters.
      await expectParity(() => {
        const x = tf.round(tf.mul(randomTensor('x', shape), 2));
        const w = randomTensor('w', pool(x).shape);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), w)))(x);
      }, 1e-6, 'gradient');
    });
  }

  it('maxPool ignores NaN and -Infinity like the cpu kernel; 1×1 is the identity; int32 falls back', async () => {
    await expectParity(() => {
      const x = tf.tensor4d([NaN, 1, -Infinity, 2, NaN, NaN, -Infinity, -Infinity, 3, NaN, 5, 4, -1, -2, -3, -4], [1, 4, 4, 1]);
      return [tf.maxPool(x, 2, 2, 'valid'), tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x)];
    }, EXACT);
    await expectParity(() => [tf.maxPool(randomTensor('x', [1, 4, 4, 2]) as tf.Tensor4D, 1, 1, 'valid'), tf.maxPool(tf.tensor4d([1, 5, 3, 2], [1, 2, 2, 1], 'int32'), 2, 1, 'valid').toFloat()], EXACT);
  });

  it('gather axis 0 with repeated indices, axis 1 with batchDims 1, int32 values', async () => {
    await expectParity(() => tf.gather(randomTensor('p', [10, 6]), tf.tensor1d([3, 0, 9, 3, 5, 3, 1], 'int32'), 0), EXACT);
    await expectParity(() => tf.gather(randomTensor('p', [3, 8, 2]), tf.tensor2d([0, 7, 7, 2, 1, 1, 6, 3, 5, 4, 0, 0], [3, 4], 'int32'), 1, 1), EXACT);
    await expectParity(() => tf.gather(randomTensor('p', [2, 5, 3, 4]), tf.tensor2d([4, 0, 2, 2], [2, 2], 'int32'), 1), EXACT);
    // int32 rows are copied as raw words (values exactly representable in float32 here to read them back).
    const [ints] = await run('native', () => tf.gather(tf.tensor2d([[1, -2], [-16777216, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 1, 1], 'int32')).toFloat());
    expect([...ints!.values]).toEqual([5, 6, -16777216, 4, -16777216, 4]);
  });

  it('gather rejects out-of-range indices with the cpu message', async () => {
    await tf.setBackend('native');
    const x = tf.ones([4, 2]);
    const i = tf.tensor1d([1, 4], 'int32');
    expect(() => tf.gather(x, i)).toThrow('GatherV2: the index value 4 is not in [0, 3]');
    tf.dispose([x, i]);
  });

  it('gather gradients (UnsortedSegmentSum) with repeated indices and batchDims', async () => {
    await expectParity(() => {
      const idx = tf.tensor1d([3, 0, 9, 3, 5, 3, 1], 'int32');
      const w = randomTensor('w', [7, 6]);
      return tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx, 0), w)))(randomTensor('p', [10, 6]));
    }, 1e-6);
    await expectParity(() => {
      const idx = tf.tensor2d([0, 7, 7, 2, 1, 1, 6, 3, 5, 4, 0, 0], [3, 4], 'int32');
      const w = randomTensor('w', [3, 4, 2]);
      return tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx, 1, 1), w)))(randomTensor('p', [3, 8, 2]));
    }, 1e-6);
  });

  it('unsortedSegmentSum drops ids outside [0, numSegments)', async () => {
    await expectParity(() => tf.unsortedSegmentSum(randomTensor('x', [6, 3, 2]), tf.tensor1d([2, -1, 0, 2, 7, 1], 'int32'), 4), 1e-6);
    const [out] = await run('native', () => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, 1, 5], 'int32'), 3));
    expect([...out!.values]).toEqual([0, 0, 4, 6, 0, 0]);
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('native');
    await expectNoLeak(() => tf.tidy(() => {
      const x = randomTensor('x', [2, 6, 6, 3]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
      const p = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([1, 1, 0], 'int32'))))(randomTensor('p', [3, 2]));
      return [g, p];
    }), 'pool and gather');
  });
});
