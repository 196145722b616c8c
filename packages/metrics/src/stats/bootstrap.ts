import { InvalidArgumentError, Rng, rngFor } from '@nutshell/core';

/** numpy's default (linear) percentile of already-sorted values, q in [0, 100]. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new InvalidArgumentError('percentile of an empty array');
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  samples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed or generator (core's Rng); default: the global stream. */
  seed?: number | string | Rng;
}

export interface BootstrapInterval {
  low: number;
  /** Median of the bootstrap distribution (rouge-score reports this as "mid"). */
  mid: number;
  high: number;
  /** Mean of the bootstrap distribution. */
  mean: number;
  level: number;
}

function check(options: BootstrapOptions): { samples: number; level: number; rng: Rng } {
  const samples = options.samples ?? 1000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(samples) || samples <= 0) throw new InvalidArgumentError(`bootstrap: samples must be a positive integer, got ${samples}`);
  if (!(level >= 0 && level <= 1)) throw new InvalidArgumentError(`bootstrap: level must be in [0, 1], got ${level}`);
  return { samples, level, rng: rngFor(options.seed) };
}

function summarize(values: Float64Array, level: number): BootstrapInterval {
  const sorted = Float64Array.from(values).sort();
  const delta = (1 - level) / 2;
  let mean = 0;
  for (const v of values) mean += v;
  return {
    low: percentileSorted(sorted, 100 * delta),
    mid: percentileSorted(sorted, 50),
    high: percentileSorted(sorted, 100 * (1 - delta)),
    mean: mean / values.length,
    level,
  };
}

/**
 * Percentile bootstrap: resamples `n` item indices with replacement `samples` times and evaluates
 * `statistic` on each resample (given the indices). Works for means of per-item scores and for corpus
 * metrics recomputed from summed per-segment statistics (BLEU, chrF).
 */
export function bootstrap(n: number, statistic: (indices: Int32Array) => number, options: BootstrapOptions = {}): BootstrapInterval {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`bootstrap: need at least one item, got ${n}`);
  const { samples, level, rng } = check(options);
  const values = new Float64Array(samples);
  const idx = new Int32Array(n);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    values[s] = statistic(idx);
  }
  return summarize(values, level);
}

/**
 * Bootstrap of the mean of several measures at once, resampling rows together (as rouge-score's
 * BootstrapAggregator does for precision/recall/F of one ROUGE type).
 */
export function bootstrapMeans(rows: readonly (readonly number[])[], options: BootstrapOptions = {}): BootstrapInterval[] {
  const n = rows.length;
  if (n < 1) throw new InvalidArgumentError('bootstrap: need at least one row');
  const width = rows[0]!.length;
  const { samples, level, rng } = check(options);
  const values = Array.from({ length: width }, () => new Float64Array(samples));
  for (let s = 0; s < samples; s++) {
    const sums = new Float64Array(width);
    for (let i = 0; i < n; i++) {
      const row = rows[rng.int(n)]!;
      for (let j = 0; j < width; j++) sums[j]! += row[j]!;
    }
    for (let j = 0; j < width; j++) values[j]![s] = sums[j]! / n;
  }
  return values.map((v) => summarize(v, level));
}
