import type { Tensor } from '@nutshell/core';

/** Extra inputs of a conditional denoiser. */
export interface Conditioning {
  /** [B] integer class labels; the value `numClasses` is the null ("unconditional") class. */
  classLabels?: Tensor;
  /** Image concatenated to the noisy input along channels (SR3 super-resolution: the upsampled low-res image). */
  concat?: Tensor;
}

/**
 * What schedulers and pipelines need from a model: x_t and float timesteps [B] in, a prediction of
 * the same shape as x_t out. Any Module with this forward works (MLPDenoiser, UNet, your own).
 */
export interface Denoiser {
  forward(x: Tensor, t: Tensor, cond?: Conditioning): Tensor;
  /** Number of real classes when class-conditional (the null class is numClasses). */
  readonly numClasses?: number;
}
