import { InvalidArgumentError, type Tensor } from '@nutshell/core';
import { slicedWasserstein } from '@nutshell/metrics';

/**
 * Sliced Wasserstein distance (metrics package) between generated points and data, and between
 * pure N(0, I) noise and data as the baseline a sampler must beat. Both [N, d].
 */
export function toySampleScore(samples: Tensor, data: Tensor, options: { seed?: number; noise?: Tensor } = {}): { swd: number; noiseSwd: number | undefined } {
  if (samples.rank !== 2 || data.rank !== 2 || samples.shape[1] !== data.shape[1]) {
    throw new InvalidArgumentError(`toySampleScore: expected [N, d] samples and data, got [${samples.shape}] and [${data.shape}]`);
  }
  const swd = slicedWasserstein(samples, data, { seed: options.seed ?? 0 }).value;
  const noiseSwd = options.noise ? slicedWasserstein(options.noise, data, { seed: options.seed ?? 0 }).value : undefined;
  return { swd, noiseSwd };
}
