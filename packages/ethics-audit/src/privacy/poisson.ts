import { InvalidArgumentError, Rng, describe, rngFor } from '@nutshell/core';

/**
 * Poisson sampling (what the RDP analysis of DP-SGD assumes): each of the n examples joins the batch
 * independently with probability q, so batch sizes vary and may be 0.
 */
export function poissonSample(n: number, q: number, seed?: number | string | Rng): number[] {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`poissonSample: n must be an integer >= 0, got ${describe(n)}`);
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new InvalidArgumentError(`poissonSample: q must be in [0, 1], got ${describe(q)}`);
  const rng = seed instanceof Rng ? seed : rngFor(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (rng.uniform() < q) out.push(i);
  return out;
}

/** `steps` Poisson batches over n examples from one seeded stream. */
export function* poissonBatches(n: number, q: number, steps: number, seed?: number | string | Rng): Generator<number[]> {
  if (!Number.isInteger(steps) || steps < 0) throw new InvalidArgumentError(`poissonBatches: steps must be an integer >= 0, got ${describe(steps)}`);
  const rng = seed instanceof Rng ? seed : rngFor(seed);
  for (let s = 0; s < steps; s++) yield poissonSample(n, q, rng);
}
