import { assertPositiveInt, InvalidArgumentError, rngFor, tf, type Tensor } from '@nutshell/core';
import { runPipeline, type LoopResult, type PipelineOptions } from './loop.js';

export { labelsTensor } from './loop.js';

export interface GenerateOptions extends PipelineOptions {
  /** Output shape, e.g. [16, 28, 28, 1] or [1000, 2]. */
  shape: number[];
  /** Starting noise (N(0, I), scaled by initNoiseSigma here); drawn when omitted. */
  noise?: Tensor;
}

/** Unconditional or class-conditional generation: noise → scheduler loop → samples (caller owns them). */
export function generate(options: GenerateOptions): LoopResult {
  const { scheduler, shape } = options;
  if (!Array.isArray(shape) || shape.length < 2) throw new InvalidArgumentError(`generate: shape must be [batch, …], got ${JSON.stringify(shape)}`);
  shape.forEach((d) => assertPositiveInt('generate shape entry', d));
  scheduler.setTimesteps(options.steps ?? 50);
  const rng = rngFor(options.rng ?? 0);
  const x = tf.tidy(() => tf.mul(options.noise ?? rng.normalTensor(shape), scheduler.initNoiseSigma));
  return runPipeline(options, x, rng);
}
