import { InvalidArgumentError, Rng, rngFor, type MetricResult } from '@nutshell/core';
import { sameCols, toMatrix, type Matrix, type MatrixLike } from '../linalg/matrix.js';

export interface KidOptions {
  /** Number of random subsets (default 100, as torch-fidelity and clean-fid). */
  subsets?: number;
  /** Samples per subset (default 1000, clipped to the smaller set). */
  subsetSize?: number;
  /** Polynomial kernel (γ·xᵀy + coef0)^degree; defaults degree 3, γ = 1/d, coef0 = 1. */
  degree?: number;
  gamma?: number;
  coef0?: number;
  seed?: number | string | Rng;
}

/** First `m` entries of a random permutation of 0..n−1 (partial Fisher–Yates): sampling without replacement. */
function sampleWithoutReplacement(rng: Rng, n: number, m: number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.subarray(0, m);
}

/** Sum of kernel values over the block (rows ia of X) × (rows ib of Y); `skipDiagonal` for X = Y. */
function kernelSum(x: Matrix, ia: Int32Array, y: Matrix, ib: Int32Array, k: (dot: number) => number, sameSet: boolean): number {
  const d = x.cols;
  let total = 0;
  for (let i = 0; i < ia.length; i++) {
    const oi = ia[i]! * d;
    for (let j = sameSet ? i + 1 : 0; j < ib.length; j++) {
      const oj = ib[j]! * d;
      let dot = 0;
      for (let p = 0; p < d; p++) dot += x.data[oi + p]! * y.data[oj + p]!;
      total += k(dot);
    }
  }
  // Same set: each off-diagonal pair counted once above; the full off-diagonal sum is twice that.
  return sameSet ? 2 * total : total;
}

/**
 * Unbiased squared MMD with a polynomial kernel between two sets given as row indices, i.e.
 * (Σ_{i≠j} k(xi,xj))/(m(m−1)) + (Σ_{i≠j} k(yi,yj))/(n(n−1)) − 2 Σ k(xi,yj)/(mn).
 */
export function mmd2Unbiased(x: Matrix, ix: Int32Array, y: Matrix, iy: Int32Array, k: (dot: number) => number): number {
  const m = ix.length;
  const n = iy.length;
  return kernelSum(x, ix, x, ix, k, true) / (m * (m - 1)) + kernelSum(y, iy, y, iy, k, true) / (n * (n - 1)) - (2 * kernelSum(x, ix, y, iy, k, false)) / (m * n);
}

/**
 * Kernel Inception Distance: the unbiased MMD² with the cubic polynomial kernel, averaged over random
 * subsets (value = mean, details.std = standard deviation over subsets, like torch-fidelity).
 */
export function kid(a: MatrixLike, b: MatrixLike, options: KidOptions = {}): MetricResult {
  const x = toMatrix('kid: a', a, 2);
  const y = toMatrix('kid: b', b, 2);
  sameCols(x, y, 'kid');
  const subsets = options.subsets ?? 100;
  if (!Number.isInteger(subsets) || subsets < 1) throw new InvalidArgumentError(`kid: subsets must be a positive integer, got ${subsets}`);
  const size = Math.min(options.subsetSize ?? 1000, x.rows, y.rows);
  if (!Number.isInteger(size) || size < 2) throw new InvalidArgumentError(`kid: subsetSize must be an integer ≥ 2, got ${options.subsetSize}`);
  const degree = options.degree ?? 3;
  const gamma = options.gamma ?? 1 / x.cols;
  const coef0 = options.coef0 ?? 1;
  const k = (dot: number) => (gamma * dot + coef0) ** degree;
  const rng = rngFor(options.seed);
  const values = new Float64Array(subsets);
  const full = size === x.rows && size === y.rows;
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < subsets; s++) {
    // With subsets covering both sets entirely every subset is the same: compute once.
    if (full && s > 0) {
      values[s] = values[0]!;
      continue;
    }
    const ix = size === x.rows ? all(x.rows) : sampleWithoutReplacement(rng, x.rows, size);
    const iy = size === y.rows ? all(y.rows) : sampleWithoutReplacement(rng, y.rows, size);
    values[s] = mmd2Unbiased(x, ix, y, iy, k);
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= subsets;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / subsets);
  return {
    name: 'kid',
    value: mean,
    higherIsBetter: false,
    signature: `kid|poly(degree:${degree},gamma:${gamma === 1 / x.cols ? '1/d' : gamma},coef0:${coef0})|subsets:${subsets}|size:${size}`,
    details: { std, subsets, subset_size: size, n_a: x.rows, n_b: y.rows, dim: x.cols },
  };
}
