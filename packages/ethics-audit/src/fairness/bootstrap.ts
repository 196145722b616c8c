import { InvalidArgumentError, Rng, rngFor, describe } from '@nutshell/core';

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  iterations?: number;
  /** Central coverage of the interval (default 0.95). */
  level?: number;
  seed?: number | string | Rng;
}

export interface BootstrapInterval {
  estimate: number;
  low: number;
  high: number;
  level: number;
  iterations: number;
  /** Resamples where the statistic was not a finite number (e.g. a group went missing); left out. */
  skipped: number;
}

/**
 * Percentile bootstrap: resamples the n rows with replacement (seeded), evaluates `statistic` on the
 * chosen row indices, and reports the central `level` interval.
 */
export function bootstrapInterval(n: number, statistic: (rows: number[]) => number, options: BootstrapOptions = {}): BootstrapInterval {
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`bootstrapInterval: n must be a positive integer, got ${describe(n)}`);
  const iterations = options.iterations ?? 1000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(iterations) || iterations < 10) throw new InvalidArgumentError(`bootstrapInterval: iterations must be an integer >= 10, got ${describe(iterations)}`);
  if (!(level > 0 && level < 1)) throw new InvalidArgumentError(`bootstrapInterval: level must be in (0, 1), got ${describe(level)}`);
  const rng = options.seed instanceof Rng ? options.seed : rngFor(options.seed ?? 0);
  const estimate = statistic(Array.from({ length: n }, (_, i) => i));
  const values: number[] = [];
  const rows = new Array<number>(n);
  for (let b = 0; b < iterations; b++) {
    for (let i = 0; i < n; i++) rows[i] = rng.int(n);
    const v = statistic(rows.slice());
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) throw new InvalidArgumentError('bootstrapInterval: the statistic was never finite on a resample');
  values.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { estimate, low: quantile(values, alpha), high: quantile(values, 1 - alpha), level, iterations, skipped: iterations - values.length };
}

/** Linear-interpolation quantile of sorted values (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
