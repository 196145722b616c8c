import { InvalidArgumentError, rngFor, ShapeError, tf, type Tensor } from '@nutshell/core';
import { runPipeline, type LoopResult, type PipelineOptions } from './loop.js';

export interface InpaintOptions extends PipelineOptions {
  /** The image whose known pixels are kept (in the model's data range). */
  image: Tensor;
  /** 1 where the pixel is known, 0 where it is to be generated; broadcastable to the image. */
  mask: Tensor;
  /** RePaint resampling: passes per step (default 1 = no resampling; needs a stateless scheduler). */
  jumps?: number;
  /** Starting noise (N(0, I), scaled by initNoiseSigma here); drawn when omitted. */
  noise?: Tensor;
}

/**
 * Inpainting: after every step the known pixels are replaced by the image noised to the step's
 * level (the final step puts them back exactly), optionally with RePaint's resampling (Lugmayr et
 * al. 2022): each step is re-noised back and repeated `jumps` − 1 times so the generated region
 * harmonises with the known one.
 */
export function inpaint(options: InpaintOptions): LoopResult {
  const { scheduler, image } = options;
  if (image.rank < 2) throw new ShapeError(`inpaint: image must be [batch, …], got [${image.shape.join(', ')}]`);
  const jumps = options.jumps ?? 1;
  if (!Number.isInteger(jumps) || jumps < 1) throw new InvalidArgumentError(`inpaint: jumps must be a positive integer, got ${jumps}`);
  let known: Tensor;
  try {
    known = tf.tidy(() => tf.greater(tf.broadcastTo(options.mask, image.shape), 0.5));
  } catch {
    throw new ShapeError(`inpaint: mask [${options.mask.shape.join(', ')}] does not broadcast to the image [${image.shape.join(', ')}]`);
  }
  scheduler.setTimesteps(options.steps ?? 50);
  const rng = rngFor(options.rng ?? 0);
  const impose = (x: Tensor, sigma: number): Tensor =>
    tf.tidy(() => {
      if (sigma === 0) return tf.where(known, image, x);
      const noisy = scheduler.noiseToSigma(image, rng.normalTensor(image.shape), sigma);
      return tf.where(known, noisy, x);
    });
  const start = tf.tidy(() => tf.mul(options.noise ?? rng.normalTensor(image.shape), scheduler.initNoiseSigma));
  const x = impose(start, scheduler.inputSigmas[0]!);
  start.dispose();
  try {
    return runPipeline(options, x, rng, {
      afterStep: (cur, i) => impose(cur, scheduler.outputSigmas[i]!),
      resample: jumps > 1 ? {
        jumps,
        renoise: (cur, i) => tf.tidy(() => scheduler.renoise(cur, scheduler.outputSigmas[i]!, scheduler.inputSigmas[i]!, rng.normalTensor(cur.shape))),
      } : undefined,
    });
  } finally {
    known.dispose();
  }
}
