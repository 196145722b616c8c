import { InvalidArgumentError, Rng, rngFor, type MetricResult } from '@nutshell/core';
import { sameCols, toMatrix, type MatrixLike } from '../linalg/matrix.js';

/**
 * 1-Wasserstein distance between two 1-D empirical distributions (equal weights): ∫|F_u − F_v|,
 * as scipy.stats.wasserstein_distance. For equal sizes it is the mean |sorted(u) − sorted(v)|.
 */
export function wasserstein1d(u: ArrayLike<number>, v: ArrayLike<number>): number {
  if (u.length === 0 || v.length === 0) throw new InvalidArgumentError('wasserstein1d: both samples must be non-empty');
  const a = Float64Array.from(u).sort();
  const b = Float64Array.from(v).sort();
  const n = a.length;
  const m = b.length;
  let i = 0;
  let j = 0;
  let prev = Math.min(a[0]!, b[0]!);
  let total = 0;
  while (i < n || j < m) {
    const next = j >= m || (i < n && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    total += Math.abs(i / n - j / m) * (next - prev);
    prev = next;
    while (i < n && a[i] === next) i++;
    while (j < m && b[j] === next) j++;
  }
  return total;
}

export interface SwdOptions {
  /** Random directions per repeat (default 128, as ProGAN). */
  projections?: number;
  /** Repeats (default 4, as ProGAN); the result averages all projections. */
  repeats?: number;
  seed?: number | string | Rng;
}

/**
 * Sliced Wasserstein distance between two N×d sets: the mean over random unit directions (drawn from
 * a seeded normal and normalized) of the 1-D Wasserstein-1 distance between the projections.
 */
export function slicedWasserstein(a: MatrixLike, b: MatrixLike, options: SwdOptions = {}): MetricResult {
  const x = toMatrix('slicedWasserstein: a', a, 1);
  const y = toMatrix('slicedWasserstein: b', b, 1);
  sameCols(x, y, 'slicedWasserstein');
  const projections = options.projections ?? 128;
  const repeats = options.repeats ?? 4;
  if (!Number.isInteger(projections) || projections < 1 || !Number.isInteger(repeats) || repeats < 1) {
    throw new InvalidArgumentError(`slicedWasserstein: projections and repeats must be positive integers, got ${projections}, ${repeats}`);
  }
  const rng = rngFor(options.seed);
  const d = x.cols;
  const dir = new Float64Array(d);
  const px = new Float64Array(x.rows);
  const py = new Float64Array(y.rows);
  let total = 0;
  const count = projections * repeats;
  for (let p = 0; p < count; p++) {
    let norm = 0;
    for (let k = 0; k < d; k++) {
      dir[k] = rng.normal();
      norm += dir[k]! * dir[k]!;
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) dir[k]! /= norm;
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x.data[i * d + k]! * dir[k]!;
      px[i] = s;
    }
    for (let i = 0; i < y.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += y.data[i * d + k]! * dir[k]!;
      py[i] = s;
    }
    total += wasserstein1d(px, py);
  }
  return { name: 'swd', value: total / count, higherIsBetter: false, signature: `swd|projections:${projections}x${repeats}`, details: { projections, repeats } };
}
