import { tf, type Tensor } from '@nutshell/core';
import { gelu } from '@nutshell/nn';
import type { GptActivation } from '../gpt/config.js';
import { geluNew, mm } from '../gpt/ops.js';

/**
 * The op sequences of gpt/conv1d.ts and gpt/block.ts, restated for variants that run a GPT's
 * weights their own way. Kept op for op identical, so a variant at full size reproduces the plain
 * GPT bit for bit.
 */

/** Conv1D's y = x·W + b with W [in, out] (reshape to 2-D, matmul, bias, reshape back). */
export function conv1d(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  return tf.tidy(() => {
    const nIn = weight.shape[0]!;
    const nOut = weight.shape[1]!;
    const flat = x.rank === 2 ? x : tf.reshape(x, [-1, nIn]);
    let y = mm(flat, weight);
    if (bias) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), nOut]);
  });
}

/** Mlp's activation. */
export function gptActivation(a: GptActivation, h: Tensor): Tensor {
  return a === 'gelu_new' ? geluNew(h) : a === 'gelu' ? gelu(h) : a === 'relu' ? tf.relu(h) : tf.mul(h, tf.sigmoid(h));
}

/**
 * Additive causal mask [T, S] for queries at absolute positions start…start+T−1 over keys at
 * absolute positions keyStart…keyStart+S−1 (keyStart > 0 when old keys were dropped).
 */
export function causalMaskAt(T: number, S: number, start: number, keyStart = 0): Tensor {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = 0; j < S; j++) if (keyStart + j > start + i) m[i * S + j] = -1e9;
  return tf.tensor2d(m, [T, S]);
}
