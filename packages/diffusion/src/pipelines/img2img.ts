import { InvalidArgumentError, rngFor, tf, type Tensor } from '@nutshell/core';
import { runPipeline, type LoopResult, type PipelineOptions } from './loop.js';

export interface Img2ImgOptions extends PipelineOptions {
  image: Tensor;
  /** SDEdit strength in [0, 1]: the fraction of the schedule run (0 returns the input, 1 ignores it). */
  strength: number;
  /** The noise added to the image (N(0, I)); drawn when omitted. */
  noise?: Tensor;
}

/**
 * img2img / SDEdit (Meng et al. 2022): noise the image to the level of step ⌊n·(1 − strength)⌋ and
 * denoise from there, as diffusers' img2img pipelines pick their start.
 */
export function img2img(options: Img2ImgOptions): LoopResult {
  const { scheduler, image, strength } = options;
  if (!(strength >= 0 && strength <= 1)) throw new InvalidArgumentError(`img2img: strength must be in [0, 1], got ${strength}`);
  const n = options.steps ?? 50;
  scheduler.setTimesteps(n);
  const initSteps = Math.min(Math.floor(n * strength), n);
  if (initSteps === 0) return { samples: tf.clone(image), trajectory: [], modelCalls: 0 };
  const begin = (n - initSteps) * scheduler.order;
  const rng = rngFor(options.rng ?? 0);
  const noise = options.noise ?? rng.normalTensor(image.shape);
  const x = scheduler.addNoise(image, noise, begin);
  if (!options.noise) noise.dispose();
  scheduler.setBeginIndex(begin);
  return runPipeline(options, x, rng);
}
