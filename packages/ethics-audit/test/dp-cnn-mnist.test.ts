import { tf, type Tensor } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { makePrivate, rdpEpsilon } from '@nutshell/ethics-audit';
import { DataLoader, SGD, SmallCNN, crossEntropy, type Module } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

/** n digits of a split as 14×14 NHWC images (2×2 average pooling keeps the test fast). */
function digits(ds: { x: Float32Array; y: ArrayLike<number> }, n: number): [Tensor, Tensor] {
  return tf.tidy(() => {
    const x = tf.avgPool(tf.tensor4d(ds.x.subarray(0, n * 784), [n, 28, 28, 1]), 2, 2, 'valid');
    return [x, tf.tensor1d(Array.from({ length: n }, (_, i) => ds.y[i]!), 'int32')];
  });
}

function accuracy(model: Module, x: Tensor, y: Tensor): number {
  const pred = tf.tidy(() => tf.argMax(model.forward(x) as Tensor, 1));
  const p = pred.dataSync(), t = y.dataSync();
  pred.dispose();
  let ok = 0;
  for (let i = 0; i < t.length; i++) ok += p[i] === t[i] ? 1 : 0;
  return ok / t.length;
}

describe('DP-SGD on a small MNIST CNN (smoke test)', () => {
  it('trains a conv net with vectorized ghost clipping, and ε matches the accountant', async () => {
    const mnist = await loadMnist({ seed: 0 });
    const [xTrain, yTrain] = digits(mnist.train as never, 640);
    const [xTest, yTest] = digits(mnist.test as never, 320);
    const model = new SmallCNN({ imageSize: 14, channels: [4, 8], hidden: 32, seed: 0 });
    const before = accuracy(model, xTest, yTest);
    const dp = makePrivate(model, new SGD(model, { lr: 0.5, momentum: 0.9 }), new DataLoader([xTrain, yTrain], { batchSize: 64 }), { noiseMultiplier: 0.8, maxGradNorm: 1, delta: 1e-5, seed: 0 });
    const { steps, epsilon } = dp.fit((m, [x, y]: Tensor[]) => crossEntropy(m.forward(x!), y!, { reduction: 'none' }), { epochs: 3 });
    const after = accuracy(model, xTest, yTest);
    console.log(`DP CNN on MNIST 14×14: accuracy ${before.toFixed(3)} → ${after.toFixed(3)}, ε = ${epsilon.toFixed(2)} after ${dp.steps} steps`);
    expect(steps.length).toBe(30);
    expect(steps.filter((s) => s.batchSize > 0).every((s) => s.method === 'ghost')).toBe(true);
    expect(epsilon).toBe(rdpEpsilon(0.1, 0.8, 30, 1e-5).epsilon);
    expect(after).toBeGreaterThan(0.5);
    expect(after).toBeGreaterThan(before + 0.2);
    tf.dispose([xTrain, yTrain, xTest, yTest]);
  });
});
