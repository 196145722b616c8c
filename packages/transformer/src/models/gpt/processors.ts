import { InvalidArgumentError, describe, tf, type LogitsProcessor, type Tensor2D } from '@nutshell/core';

/**
 * The built-in logits rules as plain functions on one row (in place), with Hugging Face's
 * definitions, plus LogitsProcessor wrappers for use anywhere core's contract is expected.
 */

/** CTRL's repetition penalty (HF): a seen token's logit is divided by p if positive, multiplied by p if negative. */
export function repetitionPenaltyRow(row: Float32Array, seen: readonly number[], penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const l = row[id]!;
    row[id] = l > 0 ? l / penalty : l * penalty;
  }
}

export function temperatureRow(row: Float32Array, t: number): void {
  if (t === 1) return;
  for (let i = 0; i < row.length; i++) row[i] = row[i]! / t;
}

/** Keeps the k largest logits (ties at the k-th value kept, as HF), the rest −∞. */
export function topKRow(row: Float32Array, k: number): void {
  if (k <= 0 || k >= row.length) return;
  const kth = Float32Array.from(row).sort((a, b) => b - a)[k - 1]!;
  for (let i = 0; i < row.length; i++) if (row[i]! < kth) row[i] = -Infinity;
}

/** Nucleus: keeps the smallest set of most probable tokens whose probability reaches p (at least one). */
export function topPRow(row: Float32Array, p: number): void {
  if (p >= 1) return;
  const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!);
  const probs = softmaxRow(row);
  let cum = 0;
  let keep = 0;
  while (keep < order.length) {
    cum += probs[order[keep]!]!;
    keep++;
    if (cum >= p) break;
  }
  for (let j = keep; j < order.length; j++) row[order[j]!] = -Infinity;
}

/** Softmax in float64 (stable). */
export function softmaxRow(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = row[i]! === -Infinity ? 0 : Math.exp(row[i]! - max);
  for (let i = 0; i < row.length; i++) out[i]! /= sum;
  return out;
}

/** log-softmax in float64 (stable). */
export function logSoftmaxRow(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) if (v !== -Infinity) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

/** Applies a row rule to every row of [batch, vocab] logits, returning a new tensor. */
function byRow(name: string, fn: (row: Float32Array, ids: readonly number[]) => void): LogitsProcessor {
  return {
    name,
    process(inputIds: readonly (readonly number[])[], logits: Tensor2D): Tensor2D {
      const [B, V] = logits.shape;
      const data = Float32Array.from(logits.dataSync() as Float32Array);
      for (let b = 0; b < B; b++) fn(data.subarray(b * V, (b + 1) * V), inputIds[b] ?? []);
      return tf.tensor2d(data, [B, V]);
    },
  };
}

function positive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`${name} must be a finite number > 0, got ${describe(v)}`);
  return v;
}

export const repetitionPenaltyProcessor = (penalty: number): LogitsProcessor => {
  positive('repetitionPenalty', penalty);
  return byRow('repetition-penalty', (row, ids) => repetitionPenaltyRow(row, ids, penalty));
};
export const temperatureProcessor = (t: number): LogitsProcessor => {
  positive('temperature', t);
  return byRow('temperature', (row) => temperatureRow(row, t));
};
export const topKProcessor = (k: number): LogitsProcessor => {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`topK must be a positive integer, got ${describe(k)}`);
  return byRow('top-k', (row) => topKRow(row, k));
};
export const topPProcessor = (p: number): LogitsProcessor => {
  if (!(p > 0 && p <= 1)) throw new InvalidArgumentError(`topP must be in (0, 1], got ${describe(p)}`);
  return byRow('top-p', (row) => topPRow(row, p));
};
