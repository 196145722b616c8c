import { tf, type Rng, type Tensor } from '@nutshell/core';

/**
 * B random windows of T + 1 consecutive ids → inputs [B, T] and next-token targets [B, T].
 * Texts shorter than the window give one shorter window (T = length − 1).
 */
export function randomWindows(tokens: Int32Array, T: number, B: number, rng: Rng): [Tensor, Tensor] {
  if (tokens.length < 2) throw new Error('the text is too short to train on: it needs at least two tokens');
  const t = Math.min(T, tokens.length - 1);
  const x = new Int32Array(B * t);
  const y = new Int32Array(B * t);
  for (let b = 0; b < B; b++) {
    const o = rng.int(tokens.length - t);
    x.set(tokens.subarray(o, o + t), b * t);
    y.set(tokens.subarray(o + 1, o + t + 1), b * t);
  }
  return [tf.tensor2d(x, [B, t], 'int32'), tf.tensor2d(y, [B, t], 'int32')];
}
