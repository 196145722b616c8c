import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nativeBackend from '@nutshell/backend-native';
import { availability, expectClose, expectParity, nativeRequired, randomTensor, run, seeded, skipNote } from './helpers.js';

describe('native backend availability', () => {
  it.runIf(nativeRequired)('is available (NUTSHELL_REQUIRE_BACKENDS includes native)', () => {
    expect(availability.available, `native backend unavailable: ${availability.reason}`).toBe(true);
  });
  if (!availability.available && !nativeRequired) {
    it(`is unavailable here, native tests skipped: ${availability.reason}`, () => {
      expect(availability.reason.length).toBeGreaterThan(0);
    });
  }
});

describe.skipIf(!availability.available)(`native matmul vs tfjs cpu${skipNote}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const combos = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const;

  for (const [ta, tb] of combos) {
    it(`2-D matmul transposeA=${ta} transposeB=${tb}`, async () => {
      const [m, k, n] = [37, 65, 23];
      await expectParity(() =>
        tf.matMul(randomTensor('a', ta ? [k, m] : [m, k]), randomTensor('b', tb ? [n, k] : [k, n]), ta, tb),
      );
    });
    it(`batched matmul with broadcast batch dims, transposeA=${ta} transposeB=${tb}`, async () => {
      const [m, k, n] = [6, 9, 5];
      const a = (batch: number[]) => randomTensor('a', [...batch, ...(ta ? [k, m] : [m, k])]);
      const b = (batch: number[]) => randomTensor('b', [...batch, ...(tb ? [n, k] : [k, n])]);
      await expectParity(() => tf.matMul(a([4]), b([4]), ta, tb), 1e-4, 'equal batches');
      await expectParity(() => tf.matMul(a([3]), b([]), ta, tb), 1e-4, 'rank-2 b');
      await expectParity(() => tf.matMul(a([]), b([2, 3]), ta, tb), 1e-4, 'rank-2 a');
      await expectParity(() => tf.matMul(a([1, 3]), b([2, 3]), ta, tb), 1e-4, 'batch of one');
      await expectParity(() => tf.matMul(a([2, 3]), b([3]), ta, tb), 1e-4, 'suffix batch');
    });
  }

  it('broadcasts batch dims [2,1] × [1,3] (checked against a JS reference: tfjs cpu gets this case wrong)', async () => {
    const [m, k, n] = [3, 4, 5];
    const aData = seeded('a', 2 * m * k);
    const bData = seeded('b', 3 * k * n);
    const [out] = await run('native', () => tf.matMul(tf.tensor(aData, [2, 1, m, k]), tf.tensor(bData, [1, 3, k, n])));
    expect(out!.shape).toEqual([2, 3, m, n]);
    const expected = new Float32Array(2 * 3 * m * n);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let r = 0; r < m; r++)
          for (let c = 0; c < n; c++) {
            let sum = 0;
            for (let q = 0; q < k; q++) sum += aData[i * m * k + r * k + q]! * bData[j * k * n + q * n + c]!;
            expected[((i * 3 + j) * m + r) * n + c] = sum;
          }
    expectClose(out!.values, expected);
  });

  it('matches a hand-computed product', async () => {
    const [out] = await run('native', () => tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2])));
    expect(Array.from(out!.values)).toEqual([4, 5, 10, 11]);
  });

  it('handles empty dimensions (k = 0 gives zeros, m = 0 gives an empty result)', async () => {
    const [zeros] = await run('native', () => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 2])));
    expect(zeros!.shape).toEqual([3, 2]);
    expect(Array.from(zeros!.values)).toEqual([0, 0, 0, 0, 0, 0]);
    const [empty] = await run('native', () => tf.matMul(tf.zeros([0, 4]), tf.ones([4, 2])));
    expect(empty!.shape).toEqual([0, 2]);
  });

  it('falls back to the cpu kernel for int32', async () => {
    const f = () => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32'));
    const [out] = await run('native', f);
    expect(Array.from(out!.values)).toEqual([19, 22, 43, 50]);
  });

  it('throws on mismatched inner dimensions', async () => {
    await tf.setBackend('native');
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow(/inner shapes/);
  });

  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu', 'prelu'] as const;
  for (const activation of activations) {
    it(`fused matmul with channel bias and ${activation}`, async () => {
      const [m, k, n] = [8, 16, 12];
      await expectParity(() =>
        tf.fused.matMul({
          a: randomTensor('a', [m, k]),
          b: randomTensor('b', [n, k]),
          transposeB: true,
          bias: randomTensor('bias', [n]),
          activation,
          preluActivationWeights: activation === 'prelu' ? randomTensor('alpha', [n], 0.3) : undefined,
          leakyreluAlpha: 0.1,
        }),
      );
    });
  }

  it('fused matmul with a scalar bias, a full [m,n] bias (cpu Add path) and batch dims', async () => {
    await expectParity(() =>
      tf.fused.matMul({ a: randomTensor('a', [2, 5, 7]), b: randomTensor('b', [2, 7, 3]), bias: tf.scalar(0.5), activation: 'relu' }),
    );
    await expectParity(() =>
      tf.fused.matMul({ a: randomTensor('a', [5, 7]), b: randomTensor('b', [7, 3]), bias: randomTensor('bias', [5, 3]), activation: 'relu6' }),
    );
  });

  it('tf.grad through matMul matches cpu (all transposes, batched)', async () => {
    for (const [ta, tb] of combos) {
      const grads = () => {
        const a = randomTensor('a', ta ? [2, 9, 6] : [2, 6, 9]);
        const b = randomTensor('b', tb ? [2, 4, 9] : [2, 9, 4]);
        return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b]);
      };
      await expectParity(grads, 1e-4, `grads ta=${ta} tb=${tb}`);
    }
  });

  it('tf.grad through fused matmul with bias and relu matches cpu', async () => {
    await expectParity(() => {
      const a = randomTensor('a', [6, 9]);
      const b = randomTensor('b', [9, 4]);
      const bias = randomTensor('bias', [4]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z, activation: 'relu' }))),
      )([a, b, bias]);
    });
  });

  it('leaks no tensors (matmul, fused matmul on both bias paths, gradients)', async () => {
    await tf.setBackend('native');
    const a = randomTensor('a', [2, 5, 7]);
    const b = randomTensor('b', [2, 7, 3]);
    const fullBias = randomTensor('bias', [5, 3]);
    const alpha = randomTensor('alpha', [3]);
    try {
      await expectNoLeak(() => tf.matMul(a, b), 'matMul');
      await expectNoLeak(() => tf.tidy(() => tf.add(tf.matMul(a, b), 1)), 'matMul + add');
      await expectNoLeak(() => tf.fused.matMul({ a, b, bias: fullBias, activation: 'relu' }), 'fused, cpu Add path');
      await expectNoLeak(() => tf.fused.matMul({ a, b, bias: alpha, activation: 'prelu', preluActivationWeights: alpha }), 'fused prelu');
      await expectNoLeak(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b]), 'grads');
    } finally {
      tf.dispose([a, b, fullBias, alpha]);
    }
  });
});
