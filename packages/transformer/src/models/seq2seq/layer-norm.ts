import { tf, type Tensor } from '@nutshell/core';
import { Module, type Parameter } from '@nutshell/nn';

/**
 * T5LayerNorm: scales by the root mean square only (no mean subtraction, no bias):
 * weight · x / √(mean(x²) + ε). Kept here (not nn's RMSNorm) so the op order matches HF's exactly.
 */
export class T5LayerNorm extends Module {
  readonly weight: Parameter;
  constructor(readonly dim: number, readonly eps = 1e-6) {
    super();
    this.weight = this.registerParameter('weight', tf.ones([dim]));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const variance = tf.mean(tf.mul(x, x), -1, true);
      return tf.mul(this.weight, tf.mul(x, tf.rsqrt(tf.add(variance, this.eps))));
    });
  }
}
