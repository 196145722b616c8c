import { tf } from '@nutshell/core';
import type { Rng } from '@nutshell/core';
import type { Dataset } from './spirals.js';

/** Initial weights as plain arrays, so every backend starts from exactly the same numbers. */
export interface MlpInit {
  sizes: number[];
  weights: { w: Float32Array; b: Float32Array }[];
}

/** He-normal weights and zero biases for a ReLU MLP with the given layer sizes. */
export function initMlp(rng: Rng, sizes: number[]): MlpInit {
  const weights = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, fanOut] = [sizes[l]!, sizes[l + 1]!];
    const w = new Float32Array(fanIn * fanOut);
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal(0, std);
    weights.push({ w, b: new Float32Array(fanOut) });
  }
  return { sizes, weights };
}

export function parameterCount(init: MlpInit): number {
  return init.weights.reduce((sum, { w, b }) => sum + w.length + b.length, 0);
}

export interface TrainOptions {
  steps: number;
  learningRate: number;
  /** Record the loss every this many steps (and at the first and last). */
  every: number;
  onStep?: (step: number, loss: number | undefined) => void;
}

export interface TrainResult {
  /** Loss of the initial weights on the training set. */
  initialLoss: number;
  finalLoss: number;
  /** Recorded (step, loss) pairs; step 0 is the initial loss. */
  losses: { step: number; loss: number }[];
  /** Accuracy on the held-out set after training. */
  accuracy: number;
  seconds: number;
}

/**
 * Full-batch Adam on softmax cross-entropy, on whatever backend is active. All tensors it makes
 * are disposed before it returns.
 */
export async function trainMlp(init: MlpInit, train: Dataset, test: Dataset, options: TrainOptions): Promise<TrainResult> {
  const classes = init.sizes[init.sizes.length - 1]!;
  const params = init.weights.map(({ w, b }, l) => ({
    w: variableFrom(tf.tensor2d(w, [init.sizes[l]!, init.sizes[l + 1]!])),
    b: variableFrom(tf.tensor1d(b)),
  }));
  const xs = tf.tensor2d(train.x, [train.n, 2]);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(train.y, 'int32'), classes), 'float32'));
  const xTest = tf.tensor2d(test.x, [test.n, 2]);
  const yTest = tf.tensor1d(test.y, 'int32');
  const optimizer = tf.train.adam(options.learningRate);
  const varList = params.flatMap(({ w, b }) => [w, b]);

  const forward = (x: tf.Tensor2D): tf.Tensor2D => {
    let h = x;
    params.forEach(({ w, b }, l) => {
      const z = tf.add(tf.matMul(h, w), b) as tf.Tensor2D;
      h = l + 1 < params.length ? tf.relu(z) : z;
    });
    return h;
  };
  const lossFn = () => tf.losses.softmaxCrossEntropy(ys, forward(xs)) as tf.Scalar;

  try {
    const start = performance.now();
    const initial = tf.tidy(lossFn);
    const initialLoss = (await initial.data())[0]!;
    initial.dispose();
    const losses = [{ step: 0, loss: initialLoss }];
    let finalLoss = initialLoss;
    for (let step = 1; step <= options.steps; step++) {
      const cost = optimizer.minimize(lossFn, true, varList)!;
      let loss: number | undefined;
      if (step % options.every === 0 || step === options.steps || step === 1) {
        loss = (await cost.data())[0]!;
        losses.push({ step, loss });
        finalLoss = loss;
      }
      cost.dispose();
      options.onStep?.(step, loss);
    }
    // Loss after the last update (minimize reports the loss before it).
    const last = tf.tidy(lossFn);
    finalLoss = (await last.data())[0]!;
    last.dispose();
    const seconds = (performance.now() - start) / 1000;
    const correct = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(forward(xTest), 1), yTest), 'float32')));
    const accuracy = (await correct.data())[0]!;
    correct.dispose();
    return { initialLoss, finalLoss, losses, accuracy, seconds };
  } finally {
    optimizer.dispose();
    tf.dispose([xs, ys, xTest, yTest, ...varList]);
  }
}

/** A trainable variable holding a copy of `t`; disposes `t`. */
function variableFrom(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}
