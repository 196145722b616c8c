import { tf, type Tensor } from '@nutshell/core';
import { Module } from '@nutshell/nn';

/**
 * Leaky ReLU written as α·x + (1 − α)·relu(x). Same values as tf.leakyRelu, but twice
 * differentiable on tfjs: tf.leakyRelu's gradient uses a `Greater` op that has no gradient, so a
 * gradient penalty (double backprop) through it throws. Discriminators here use this one.
 */
export function leakyRelu2(x: Tensor, alpha = 0.2): Tensor {
  return tf.tidy(() => tf.add(tf.mul(x, alpha), tf.mul(tf.relu(x), 1 - alpha)));
}

/** Module form of `leakyRelu2` (default slope 0.2, as DCGAN). */
export class GanLeakyReLU extends Module {
  constructor(readonly alpha = 0.2) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu2(x, this.alpha);
  }
}
