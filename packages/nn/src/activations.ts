import { FUSED_KERNELS, InvalidArgumentError, fusedActivation, hasFusedKernel, tf, type Tensor } from '@nutshell/core';
import { Module } from './module.js';

/** Activation functions with PyTorch's definitions and defaults. */
export const relu = (x: Tensor): Tensor => tf.relu(x);
export const sigmoid = (x: Tensor): Tensor => tf.sigmoid(x);
export const tanh = (x: Tensor): Tensor => tf.tanh(x);
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => tf.leakyRelu(x, alpha);

/** ELU: x for x > 0, α(eˣ − 1) otherwise. */
export function elu(x: Tensor, alpha = 1): Tensor {
  if (alpha === 1) return tf.elu(x);
  // (1 − α)·relu(x) + α·elu₁(x): comparisons have no gradient in tfjs, so no where(x > 0); the
  // gradient at 0 is α, as in PyTorch.
  return tf.tidy(() => tf.add(tf.mul(1 - alpha, tf.relu(x)), tf.mul(alpha, tf.elu(x))));
}

export const selu = (x: Tensor): Tensor => tf.selu(x);

/** The backend's fused activation kernel (one pass each way) applies to float32 inputs where registered. */
const fusable = (x: Tensor): boolean => x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.activation);

/** GELU, exact (x·Φ(x) via erf) or the tanh approximation (`approximate: 'tanh'`). */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (fusable(x)) return fusedActivation(x, approximate === 'tanh' ? 'gelu_new' : 'gelu');
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    }
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  });
}

/** SiLU / swish: x·σ(x). */
export const silu = (x: Tensor): Tensor => (fusable(x) ? fusedActivation(x, 'silu') : tf.tidy(() => tf.mul(x, tf.sigmoid(x))));

/** Softplus with PyTorch's β and threshold (linear above threshold for stability). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  return tf.tidy(() => {
    const bx = tf.mul(x, beta);
    // log(1 + e^{bx}) = max(bx, 0) + log1p(e^{-|bx|}) never overflows.
    const soft = tf.div(tf.add(tf.relu(bx), tf.log1p(tf.exp(tf.neg(tf.abs(bx))))), beta);
    // Step has a (zero) gradient where Greater has none.
    const linear = tf.step(tf.sub(bx, threshold));
    return tf.add(tf.mul(linear, x), tf.mul(tf.sub(1, linear), soft));
  });
}

/** Softmax along `axis` (stable: tfjs subtracts the max). */
export const softmax = (x: Tensor, axis = -1): Tensor => {
  const ax = axis < 0 ? x.rank + axis : axis;
  if (ax === x.rank - 1) return tf.softmax(x);
  return tf.tidy(() => tf.exp(logSoftmax(x, ax)));
};

/** log-softmax along `axis`, stable for logits of any size. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const ax = axis < 0 ? x.rank + axis : axis;
  if (ax === x.rank - 1) return tf.logSoftmax(x);
  return tf.tidy(() => tf.sub(x, tf.logSumExp(x, ax, true)));
}

export type ActivationName = 'relu' | 'sigmoid' | 'tanh' | 'leaky_relu' | 'elu' | 'selu' | 'gelu' | 'gelu_tanh' | 'silu' | 'softplus' | 'identity' | 'softmax' | 'log_softmax';

const byName: Record<ActivationName, (x: Tensor) => Tensor> = {
  relu, sigmoid, tanh, selu, silu, softmax: (x) => softmax(x), log_softmax: (x) => logSoftmax(x),
  leaky_relu: (x) => leakyRelu(x), elu: (x) => elu(x), gelu: (x) => gelu(x), gelu_tanh: (x) => gelu(x, 'tanh'),
  softplus: (x) => softplus(x), identity: (x) => tf.clone(x),
};

/** An activation function by name. */
export function activation(name: ActivationName): (x: Tensor) => Tensor {
  const f = byName[name];
  if (!f) throw new InvalidArgumentError(`activation: unknown name ${JSON.stringify(name)}; known: ${Object.keys(byName).join(', ')}`);
  return f;
}

/** An activation as a parameter-free module (for Sequential). */
export class Activation extends Module {
  private readonly fn: (x: Tensor) => Tensor;
  constructor(readonly name: ActivationName | ((x: Tensor) => Tensor)) {
    super();
    this.fn = typeof name === 'function' ? name : activation(name);
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Activation { constructor() { super('relu'); } }
export class Sigmoid extends Activation { constructor() { super('sigmoid'); } }
export class Tanh extends Activation { constructor() { super('tanh'); } }
export class SELU extends Activation { constructor() { super('selu'); } }
export class SiLU extends Activation { constructor() { super('silu'); } }
export class GELU extends Activation { constructor(approximate: 'none' | 'tanh' = 'none') { super(approximate === 'tanh' ? 'gelu_tanh' : 'gelu'); } }
export class LeakyReLU extends Activation { constructor(alpha = 0.01) { super((x) => leakyRelu(x, alpha)); } }
export class ELU extends Activation { constructor(alpha = 1) { super((x) => elu(x, alpha)); } }
export class Softplus extends Activation { constructor(beta = 1, threshold = 20) { super((x) => softplus(x, beta, threshold)); } }
export class Softmax extends Activation { constructor(axis = -1) { super((x) => softmax(x, axis)); } }
export class LogSoftmax extends Activation { constructor(axis = -1) { super((x) => logSoftmax(x, axis)); } }
