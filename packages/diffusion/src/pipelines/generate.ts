import { assertPositiveInt, InvalidArgumentError, rngFor, tf, type Rng, type Tensor } from '@nutshell/core';
import type { Conditioning, Denoiser } from '../models/denoiser.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { denoiseLoop, type LoopResult, type StepInfo } from './loop.js';

export interface GenerateOptions {
  model: Denoiser;
  scheduler: Scheduler;
  /** Output shape, e.g. [16, 28, 28, 1] or [1000, 2]. */
  shape: number[];
  /** Inference steps (default 50). */
  steps?: number;
  rng?: Rng | number | string;
  /** Class labels for a class-conditional model (one per sample, or one for all). */
  classLabels?: number[] | Tensor;
  /** Classifier-free guidance scale (default 1 = no guidance). */
  guidanceScale?: number;
  cond?: Conditioning;
  /** Starting noise (N(0, I), scaled by initNoiseSigma here); drawn when omitted. */
  noise?: Tensor;
  onStep?: (info: StepInfo) => void;
  trajectoryEvery?: number;
}

export function labelsTensor(labels: number[] | Tensor, batch: number): Tensor {
  if (labels instanceof tf.Tensor) return tf.cast(labels, 'int32');
  if (labels.length !== batch && labels.length !== 1) throw new InvalidArgumentError(`classLabels: expected ${batch} labels (or 1), got ${labels.length}`);
  return tf.tensor1d(labels.length === 1 ? Array(batch).fill(labels[0]) : labels, 'int32');
}

/** Unconditional or class-conditional generation: noise → scheduler loop → samples (caller owns them). */
export function generate(options: GenerateOptions): LoopResult {
  const { model, scheduler, shape } = options;
  if (!Array.isArray(shape) || shape.length < 2) throw new InvalidArgumentError(`generate: shape must be [batch, …], got ${JSON.stringify(shape)}`);
  shape.forEach((d) => assertPositiveInt('generate shape entry', d));
  scheduler.setTimesteps(options.steps ?? 50);
  const rng = rngFor(options.rng ?? 0);
  const labels = options.classLabels ? labelsTensor(options.classLabels, shape[0]!) : undefined;
  const x = tf.tidy(() => tf.mul(options.noise ?? rng.normalTensor(shape), scheduler.initNoiseSigma));
  try {
    return denoiseLoop(model, scheduler, x, {
      cond: { ...options.cond, classLabels: labels ?? options.cond?.classLabels },
      guidanceScale: options.guidanceScale,
      rng,
      onStep: options.onStep,
      trajectoryEvery: options.trajectoryEvery,
    });
  } finally {
    x.dispose();
    labels?.dispose();
  }
}
