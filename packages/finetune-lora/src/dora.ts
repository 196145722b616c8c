import { tf, type Tensor } from '@nutshell/core';
import { detach } from './lora-layer.js';

/** L2 norm of each row of a [out, in] weight: PEFT's `torch.linalg.norm(weight, dim=1)`. */
export function rowNorm(w: Tensor): Tensor {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(w), 1)));
}

/**
 * DoRA's extra output for a linear layer (Liu et al. 2024, as PEFT computes it): with
 * n = ‖W0 + s·BA‖ per output row — detached, as the paper recommends, so no gradient flows through
 * the norm — and k = m / n, the layer outputs k ⊙ (x W0ᵀ + s·x Aᵀ Bᵀ) + bias. Given the plain LoRA
 * term `lora` = s·x Aᵀ Bᵀ, the addition to the base output is (k − 1) ⊙ x W0ᵀ + k ⊙ lora.
 * `x` is the (dropped-out) input [N, in]; `w` is W0 [out, in].
 */
export function doraOutput(x: Tensor, w: Tensor, A: Tensor, B: Tensor, m: Tensor, s: number, lora: Tensor): Tensor {
  return tf.tidy(() => {
    const n = detach(rowNorm(tf.add(w, tf.mul(tf.matMul(B, A), s))));
    const k = tf.div(m, n);
    const base = tf.matMul(x, w, false, true);
    return tf.add(tf.mul(tf.sub(k, 1), base), tf.mul(k, lora));
  });
}
