import { InvalidArgumentError, rngFor, type Tensor } from '@nutshell/core';
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

/**
 * Indices of a reference set whose labels follow `wanted` (e.g. the class of every generated sample),
 * each class's examples taken in a seeded random order without repeats. FID against real data must
 * compare like with like: datasets stored sorted by class (`loadMnist()` is) make "the first n
 * examples" a single class, which inflates FID by orders of magnitude.
 */
export function matchingLabelIndices(labels: ArrayLike<number>, wanted: ArrayLike<number>, options: { seed?: number | string } = {}): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]!) ?? [];
    list.push(i);
    byClass.set(labels[i]!, list);
  }
  const rng = rngFor(options.seed ?? 0);
  for (const list of byClass.values()) rng.shuffle(list);
  const next = new Map<number, number>();
  const out = new Int32Array(wanted.length);
  for (let k = 0; k < wanted.length; k++) {
    const c = wanted[k]!;
    const list = byClass.get(c) ?? [];
    const j = next.get(c) ?? 0;
    if (j >= list.length) throw new InvalidArgumentError(`matchingLabelIndices: asked for more than the ${list.length} examples of class ${c}`);
    out[k] = list[j]!;
    next.set(c, j + 1);
  }
  return out;
}

/** The rows `indices` of a flat row-major array with `rowSize` values per row (e.g. 784 per digit). */
export function gatherRows(data: ArrayLike<number>, indices: ArrayLike<number>, rowSize: number): Float32Array {
  const out = new Float32Array(indices.length * rowSize);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || (i + 1) * rowSize > data.length) throw new InvalidArgumentError(`gatherRows: row ${i} is outside the data`);
    for (let j = 0; j < rowSize; j++) out[k * rowSize + j] = data[i * rowSize + j]!;
  }
  return out;
}
