import { tf, type Tensor } from '@nutshell/core';

/**
 * Rotary position embeddings (Su et al. 2021) in the "rotate half" form used by GPT-NeoX and
 * LLaMA: x·cos + rotate_half(x)·sin, with frequencies θ^(−2i/d) for positions start..start+T−1.
 * x is [B, H, T, d].
 */
export function applyRope(x: Tensor, start: number, theta: number): Tensor {
  const [, , T, d] = x.shape as [number, number, number, number];
  const half = d / 2;
  const cos = new Float32Array(T * d);
  const sin = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = (start + t) * theta ** (-(2 * i) / d);
      cos[t * d + i] = cos[t * d + i + half] = Math.cos(a);
      sin[t * d + i] = sin[t * d + i + half] = Math.sin(a);
    }
  }
  return tf.tidy(() => {
    const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
    const rotated = tf.concat([tf.neg(x2), x1], 3);
    return tf.add(tf.mul(x, tf.tensor2d(cos, [T, d])), tf.mul(rotated, tf.tensor2d(sin, [T, d])));
  });
}
