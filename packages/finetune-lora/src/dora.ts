import { tf, type Tensor } from '@nutshell/core';

/** L2 norm of each row of a [out, in] weight: PEFT's `torch.linalg.norm(weight, dim=1)`. */
export function rowNorm(w: Tensor): Tensor {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(w), 1)));
}

/** L2 norm over every axis but the first, as [1, out, 1, 1]: PEFT's DoRA norm of a conv weight. */
export function channelNorm(w: Tensor): Tensor {
  return tf.tidy(() => {
    const axes = w.shape.map((_, i) => i).slice(1);
    return tf.reshape(tf.sqrt(tf.sum(tf.square(w), axes)), [1, w.shape[0]!, ...w.shape.slice(2).map(() => 1)]);
  });
}

/** L2 norm of each column of a [num, dim] table: PEFT's DoRA norm of an embedding (fan_in_fan_out). */
export function columnNorm(w: Tensor): Tensor {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(w), 0)));
}

/**
 * DoRA's addition to the base output (Liu et al. 2024, as PEFT computes it): with k = m / ‖W0 + ΔW‖
 * (norm detached) the layer outputs k ⊙ (base + lora) + bias, i.e. base + bias plus
 * (k − 1) ⊙ base + k ⊙ lora. `base` is the bias-free base output on the adapter's input, `lora` the
 * scaled LoRA term, `k` shaped to broadcast against them.
 */
export function doraMix(base: Tensor, lora: Tensor, k: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.mul(tf.sub(k, 1), base), tf.mul(k, lora)));
}
