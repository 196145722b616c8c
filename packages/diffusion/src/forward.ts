import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import type { NoiseSchedule } from './schedule.js';

/** What a denoiser predicts: the noise ε, the clean sample x₀ ('sample'), or the velocity v. */
export type PredictionType = 'epsilon' | 'sample' | 'v_prediction';

export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'sample', 'v_prediction'];

export function checkPredictionType(p: string): PredictionType {
  if (!PREDICTION_TYPES.includes(p as PredictionType)) {
    throw new InvalidArgumentError(`unknown prediction type ${JSON.stringify(p)}; use ${PREDICTION_TYPES.join(', ')}`);
  }
  return p as PredictionType;
}

/** Integer timesteps as a [B] int32 tensor, validated against the schedule. */
export function timestepTensor(schedule: NoiseSchedule, t: Tensor | ArrayLike<number>, batch: number): Tensor {
  const T = schedule.numTrainTimesteps;
  if (!(t instanceof tf.Tensor)) {
    const arr = Array.from(t as ArrayLike<number>);
    for (const v of arr) if (!Number.isInteger(v) || v < 0 || v >= T) throw new InvalidArgumentError(`timestep must be an integer in [0, ${T - 1}], got ${v}`);
    t = tf.tensor1d(arr, 'int32');
  } else {
    t = tf.cast(t, 'int32');
  }
  if (t.rank !== 1 || (t.shape[0] !== batch && t.shape[0] !== 1)) {
    const shape = t.shape;
    t.dispose();
    throw new ShapeError(`timesteps: expected shape [${batch}] (one per sample), got [${shape.join(', ')}]`);
  }
  return t;
}

/** Per-sample coefficient gathered from a float64 table, shaped [B, 1, …] to broadcast over x. */
export function gatherCoef(table: Float64Array, t: Tensor, rank: number): Tensor {
  return tf.tidy(() => {
    const c = tf.gather(tf.tensor1d(Float32Array.from(table)), t);
    return tf.reshape(c, [t.shape[0]!, ...Array(rank - 1).fill(1)]);
  });
}

/**
 * q(x_t | x₀) in closed form: x_t = √ᾱ_t · x₀ + √(1 − ᾱ_t) · ε, for integer timesteps t (one per
 * sample, or one for all). The caller owns the result.
 */
export function addNoise(schedule: NoiseSchedule, x0: Tensor, noise: Tensor, t: Tensor | ArrayLike<number>): Tensor {
  if (noise.shape.join() !== x0.shape.join()) throw new ShapeError(`addNoise: noise shape [${noise.shape}] differs from x0 [${x0.shape}]`);
  return tf.tidy(() => {
    const ti = timestepTensor(schedule, t, x0.shape[0]!);
    const a = gatherCoef(schedule.sqrtAlphasCumprod, ti, x0.rank);
    const b = gatherCoef(schedule.sqrtOneMinusAlphasCumprod, ti, x0.rank);
    return tf.add(tf.mul(a, x0), tf.mul(b, noise));
  });
}

/** v = √ᾱ · ε − √(1 − ᾱ) · x₀ (Salimans & Ho 2022). */
export function velocity(schedule: NoiseSchedule, x0: Tensor, noise: Tensor, t: Tensor | ArrayLike<number>): Tensor {
  return tf.tidy(() => {
    const ti = timestepTensor(schedule, t, x0.shape[0]!);
    const a = gatherCoef(schedule.sqrtAlphasCumprod, ti, x0.rank);
    const b = gatherCoef(schedule.sqrtOneMinusAlphasCumprod, ti, x0.rank);
    return tf.sub(tf.mul(a, noise), tf.mul(b, x0));
  });
}

/** The regression target for a prediction type. */
export function predictionTarget(type: PredictionType, schedule: NoiseSchedule, x0: Tensor, noise: Tensor, t: Tensor | ArrayLike<number>): Tensor {
  if (type === 'epsilon') return tf.clone(noise);
  if (type === 'sample') return tf.clone(x0);
  return velocity(schedule, x0, noise, t);
}

/**
 * Converts a model output at VP level ᾱ (given as a = √ᾱ, b = √(1 − ᾱ)) into (x̂₀, ε̂). Used by
 * schedulers, guidance and pipelines so every prediction type works everywhere.
 */
export function splitPrediction(type: PredictionType, output: Tensor, sample: Tensor, a: number | Tensor, b: number | Tensor): { x0: Tensor; eps: Tensor } {
  return tf.tidy(() => {
    if (type === 'epsilon') return { x0: tf.div(tf.sub(sample, tf.mul(b, output)), a), eps: tf.clone(output) };
    if (type === 'sample') return { x0: tf.clone(output), eps: tf.div(tf.sub(sample, tf.mul(a, output)), b) };
    return { x0: tf.sub(tf.mul(a, sample), tf.mul(b, output)), eps: tf.add(tf.mul(a, output), tf.mul(b, sample)) };
  }) as { x0: Tensor; eps: Tensor };
}

/** Inverse of splitPrediction: the model output of a given type that corresponds to (x̂₀, ε̂). */
export function combinePrediction(type: PredictionType, x0: Tensor, eps: Tensor, a: number | Tensor, b: number | Tensor): Tensor {
  return tf.tidy(() => {
    if (type === 'epsilon') return tf.clone(eps);
    if (type === 'sample') return tf.clone(x0);
    return tf.sub(tf.mul(a, eps), tf.mul(b, x0));
  });
}
