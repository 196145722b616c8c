import { ShapeError, tf, type Tensor } from '@nutshell/core';
import { Upsample } from '@nutshell/nn';
import { generate, type GenerateOptions } from './generate.js';
import type { LoopResult } from './loop.js';

/** SR3's conditioning image: the low-res input upsampled (bilinear) to the target size. */
export function upsampleCondition(lowRes: Tensor, size: [number, number]): Tensor {
  if (lowRes.rank !== 4) throw new ShapeError(`upsampleCondition: expected NHWC [batch, h, w, c], got [${lowRes.shape.join(', ')}]`);
  return new Upsample({ size, mode: 'bilinear' }).forward(lowRes);
}

export interface SuperResolveOptions extends Omit<GenerateOptions, 'shape' | 'cond'> {
  lowRes: Tensor;
  /** Output height and width. */
  size: [number, number];
}

/**
 * SR3-style super-resolution (Saharia et al. 2021): a denoiser built with condChannels = C sees the
 * upsampled low-res image concatenated to x_t at every step; train it with the same condition
 * (`diffusionLoss(model, hr, { cond: { concat: upsampleCondition(lr, size) } })`).
 */
export function superResolve(options: SuperResolveOptions): LoopResult {
  const { lowRes, size } = options;
  const concat = upsampleCondition(lowRes, size);
  try {
    return generate({ ...options, shape: [lowRes.shape[0]!, size[0], size[1], lowRes.shape[3]!], cond: { concat } });
  } finally {
    concat.dispose();
  }
}
