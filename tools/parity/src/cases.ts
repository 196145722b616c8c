import { Rng, tf } from '@nutshell/core';

/** One input of a parity case: generated once from the seeded Rng, identical on every backend. */
export interface InputSpec {
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

export interface ParityCase {
  name: string;
  /** Element-wise bound for the forward check: |got − want| ≤ atol + rtol·|want|. */
  atol: number;
  rtol: number;
  /** Also compare tf.grads of a scalar function of the op; tolerances for it (defaults to the forward ones). */
  grad: boolean | { atol: number; rtol: number };
  inputs(rng: Rng): InputSpec[];
  /** The op under test; integer inputs are passed too but never differentiated. */
  fn(...xs: tf.Tensor[]): tf.Tensor | tf.Tensor[];
}

const normal = (rng: Rng, shape: number[], scale = 1): InputSpec => ({
  shape,
  dtype: 'float32',
  values: Float32Array.from({ length: size(shape) }, () => rng.normal() * scale),
});
const positive = (rng: Rng, shape: number[]): InputSpec => ({
  shape,
  dtype: 'float32',
  values: Float32Array.from({ length: size(shape) }, () => 0.5 + 2 * rng.uniform()),
});
const ints = (shape: number[], values: number[]): InputSpec => ({ shape, dtype: 'int32', values: Int32Array.from(values) });

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const EPS = 1e-5;
function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), gamma), beta);
}

/**
 * The table. Tolerances are float32-sized: sums of k products in a different order (blocked
 * kernels, FMA, GPU reductions) differ by about k·ε·|terms|, so ops that accumulate get a
 * looser bound than element-wise ones. Integer outputs (argMax) must match exactly.
 */
export const parityCases: ParityCase[] = [
  {
    name: 'matMul',
    atol: 1e-4, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [48, 64]), normal(r, [64, 40])],
    fn: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  },
  {
    name: 'batchMatMul transposeA+transposeB',
    atol: 1e-4, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [3, 24, 16]), normal(r, [3, 32, 24])],
    fn: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, true, true),
  },
  {
    name: 'batchMatMul transposeB',
    atol: 1e-4, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [2, 17, 33]), normal(r, [2, 9, 33])],
    fn: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true),
  },
  {
    name: 'conv2d stride 2 same',
    atol: 1e-4, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [2, 12, 12, 5]), normal(r, [3, 3, 5, 7])],
    fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
  },
  {
    name: 'conv2d dilation 2 valid',
    // tfjs has no gradient for dilated conv2d (on any backend), so forward only.
    atol: 1e-4, rtol: 1e-4, grad: false,
    inputs: (r) => [normal(r, [2, 11, 11, 4]), normal(r, [3, 3, 4, 6])],
    fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid', 'NHWC', 2),
  },
  {
    name: 'conv2d explicit pads stride [1,2]',
    atol: 1e-4, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [1, 9, 10, 3]), normal(r, [2, 4, 3, 5])],
    fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [1, 2], [[0, 0], [1, 0], [2, 1], [0, 0]]),
  },
  {
    name: 'conv2dTranspose stride 2 same',
    atol: 1e-4, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [2, 6, 6, 4]), normal(r, [3, 3, 8, 4])],
    fn: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 12, 12, 8], 2, 'same'),
  },
  {
    name: 'maxPool 3x3 stride 2 same',
    atol: 1e-6, rtol: 1e-6, grad: true,
    inputs: (r) => [normal(r, [2, 10, 10, 3])],
    fn: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'),
  },
  {
    name: 'avgPool 2x2 stride 2 valid',
    atol: 1e-5, rtol: 1e-5, grad: true,
    inputs: (r) => [normal(r, [2, 10, 9, 3])],
    fn: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'),
  },
  {
    name: 'softmax',
    atol: 1e-6, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [8, 33], 3)],
    fn: (x) => tf.softmax(x),
  },
  {
    name: 'logSoftmax',
    atol: 1e-5, rtol: 1e-5, grad: true,
    inputs: (r) => [normal(r, [8, 33], 3)],
    fn: (x) => tf.logSoftmax(x),
  },
  {
    name: 'moments (last axis)',
    atol: 1e-5, rtol: 1e-4, grad: true,
    inputs: (r) => [normal(r, [6, 40])],
    fn: (x) => {
      const { mean, variance } = tf.moments(x, -1);
      return [mean, variance];
    },
  },
  {
    name: 'rsqrt',
    atol: 1e-6, rtol: 1e-5, grad: true,
    inputs: (r) => [positive(r, [5, 21])],
    fn: (x) => tf.rsqrt(x),
  },
  {
    name: 'layerNorm (composed)',
    atol: 1e-4, rtol: 1e-4, grad: { atol: 2e-4, rtol: 2e-4 },
    inputs: (r) => [normal(r, [4, 7, 32], 2), normal(r, [32]), normal(r, [32])],
    fn: (x, g, b) => layerNorm(x!, g!, b!),
  },
  {
    name: 'sum axis 1',
    atol: 1e-4, rtol: 1e-5, grad: true,
    inputs: (r) => [normal(r, [6, 50, 4])],
    fn: (x) => tf.sum(x, 1),
  },
  {
    name: 'mean axis 0',
    atol: 1e-5, rtol: 1e-5, grad: true,
    inputs: (r) => [normal(r, [30, 11])],
    fn: (x) => tf.mean(x, 0),
  },
  {
    name: 'max last axis',
    atol: 0, rtol: 0, grad: true,
    inputs: (r) => [normal(r, [9, 25])],
    fn: (x) => tf.max(x, -1),
  },
  {
    name: 'min all',
    atol: 0, rtol: 0, grad: true,
    inputs: (r) => [normal(r, [7, 13])],
    fn: (x) => tf.min(x),
  },
  {
    name: 'argMax axis 1',
    atol: 0, rtol: 0, grad: false,
    inputs: (r) => [normal(r, [5, 31, 3])],
    fn: (x) => tf.argMax(x, 1),
  },
  {
    name: 'gather axis 0 (repeated indices)',
    atol: 0, rtol: 0, grad: { atol: 1e-6, rtol: 1e-6 },
    inputs: (r) => [normal(r, [10, 6]), ints([7], [3, 0, 9, 3, 5, 3, 1])],
    fn: (p, i) => tf.gather(p!, i!, 0),
  },
  {
    name: 'gather axis 1 batchDims 1',
    atol: 0, rtol: 0, grad: { atol: 1e-6, rtol: 1e-6 },
    inputs: (r) => [normal(r, [3, 8, 2]), ints([3, 4], [0, 7, 7, 2, 1, 1, 6, 3, 5, 4, 0, 0])],
    fn: (p, i) => tf.gather(p!, i!, 1, 1),
  },
  {
    name: 'scatterND',
    atol: 0, rtol: 0, grad: false,
    inputs: (r) => [ints([3, 1], [1, 5, 3]), normal(r, [3, 4])],
    fn: (i, u) => tf.scatterND(i!, u!, [8, 4]),
  },
  {
    name: 'tensorScatterUpdate',
    atol: 0, rtol: 0, grad: false,
    inputs: (r) => [normal(r, [6, 5]), ints([2, 2], [1, 4, 5, 0]), normal(r, [2])],
    fn: (t, i, u) => tf.tensorScatterUpdate(t!, i!, u!),
  },
  // Elementwise, layout and reduction kernels the native backend runs in C (issue #13).
  {
    name: 'add/sub/mul/div with broadcasting',
    atol: 1e-5, rtol: 1e-5, grad: true,
    inputs: (r) => [normal(r, [3, 4, 5]), normal(r, [5]), positive(r, [4, 1])],
    fn: (a, b, c) => tf.div(tf.sub(tf.mul(tf.add(a!, b!), c!), b!), c!),
  },
  {
    name: 'unary chain exp/log/tanh/sqrt/sigmoid/square/neg',
    atol: 1e-5, rtol: 1e-5, grad: { atol: 1e-4, rtol: 1e-4 },
    inputs: (r) => [positive(r, [4, 9])],
    fn: (x) => tf.neg(tf.square(tf.sigmoid(tf.add(tf.tanh(tf.log(x!)), tf.sqrt(tf.exp(tf.mul(x!, 0.5))))))),
  },
  {
    name: 'pow (tensor and scalar exponents)',
    atol: 1e-5, rtol: 1e-4, grad: { atol: 1e-4, rtol: 1e-4 },
    inputs: (r) => [positive(r, [3, 6]), normal(r, [6])],
    fn: (x, e) => tf.add(tf.pow(x!, e!), tf.pow(x!, 3)),
  },
  {
    name: 'transpose [0,2,1,3]',
    atol: 0, rtol: 0, grad: true,
    inputs: (r) => [normal(r, [2, 3, 4, 5])],
    fn: (x) => tf.transpose(x!, [0, 2, 1, 3]),
  },
  {
    name: 'split last axis + concat',
    atol: 0, rtol: 0, grad: true,
    inputs: (r) => [normal(r, [2, 3, 12])],
    fn: (x) => {
      const [a, b, c] = tf.split(x!, 3, 2);
      return tf.concat([c!, tf.mul(a!, 2), b!], 1);
    },
  },
  {
    name: 'sum over inner axes keepDims',
    atol: 1e-5, rtol: 1e-5, grad: true,
    inputs: (r) => [normal(r, [4, 5, 6])],
    fn: (x) => tf.sum(x!, [0, 2], true),
  },
];
