import { InvalidArgumentError, ShapeError, type MetricResult } from '@nutshell/core';
import { pivotedCholesky } from '../linalg/cholesky.js';
import { eigh, sqrtPsd, sumSqrtEigenvalues, traceSqrtPsd } from '../linalg/eigh.js';
import { centered, colMeans, covariance, matmul, sameCols, toMatrix, trace, type Matrix, type MatrixLike } from '../linalg/matrix.js';

export interface FidOptions {
  /**
   * Adds `offset`·I to both covariances first — pytorch-fid's fallback (eps = 1e-6) when scipy's
   * sqrtm of a singular product is not finite. Not needed here (the square root below is exact for
   * singular covariances); use it only to reproduce numbers made with that offset.
   */
  offset?: number;
  /**
   * How tr √(Σ1 Σ2) is computed. 'auto' (default): 'gram' when a set has no more samples than
   * dimensions, else 'cholesky'. All three give the same value to ~1e-10 relative; 'cholesky' needs
   * no eigenvectors and is several times faster than 'eigen' for d in the thousands.
   */
  method?: 'auto' | 'eigen' | 'cholesky' | 'gram';
}

/** Gaussian statistics of a feature set (pytorch-fid's mu and sigma). */
export interface GaussianStats {
  mu: Float64Array;
  sigma: Float64Array;
  dim: number;
}

export function gaussianStats(features: MatrixLike, name = 'features'): GaussianStats {
  const m = toMatrix(name, features, 2);
  const mu = colMeans(m);
  return { mu, sigma: covariance(m, mu), dim: m.cols };
}

function meanTerm(mu1: Float64Array, mu2: Float64Array): number {
  let s = 0;
  for (let i = 0; i < mu1.length; i++) s += (mu1[i]! - mu2[i]!) ** 2;
  return s;
}

/**
 * tr √(Σ1 Σ2) via the symmetric matrix √Σ1 Σ2 √Σ1, which has the same eigenvalues as Σ1 Σ2 but is
 * symmetric positive semi-definite, so a symmetric eigensolver gives it to float64 precision even when
 * Σ1, Σ2 are singular (N < d). scipy's general sqrtm (Schur method) on the non-symmetric product is
 * what pytorch-fid uses; both are the same quantity, this one without its instability.
 */
function traceSqrtProduct(s1: Float64Array, s2: Float64Array, d: number): number {
  const r = sqrtPsd(s1, d);
  const m = matmul(matmul(r, s2, d, d, d), r, d, d, d);
  // Symmetrize away round-off before the symmetric solver.
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = 0.5 * (m[i * d + j]! + m[j * d + i]!);
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  }
  return traceSqrtPsd(m, d);
}

/**
 * tr √(Σ1 Σ2) via a pivoted Cholesky factor P Σ1 Pᵀ = Uᵀ U (rank r): Σ1 Σ2 has the nonzero
 * eigenvalues of the r×r symmetric PSD matrix U (P Σ2 Pᵀ) Uᵀ, so only eigenvalues are needed. Four
 * rows at a time share each row read of the d×d operand (the products are memory-bound in JS).
 */
function traceSqrtProductCholesky(s1: Float64Array, s2: Float64Array, d: number): number {
  const { u, perm, rank: r } = pivotedCholesky(s1, d);
  if (r === 0) return 0;
  const s2p = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const src = perm[i]! * d;
    for (let j = 0; j < d; j++) s2p[i * d + j] = s2[src + perm[j]!]!;
  }
  // T = U_r · S2p (r×d); row i of U is zero before column i.
  const t = new Float64Array(r * d);
  for (let i0 = 0; i0 < r; i0 += 4) {
    const i1 = Math.min(i0 + 4, r);
    for (let p = i0; p < d; p++) {
      const sp = p * d;
      for (let i = i0; i < i1; i++) {
        const uip = u[i * d + p]!;
        if (uip === 0) continue;
        const ti = i * d;
        for (let j = 0; j < d; j++) t[ti + j]! += uip * s2p[sp + j]!;
      }
    }
  }
  // M = T · U_rᵀ (r×r, symmetric): M[i][j] = Σ_{p ≥ j} T[i][p] U[j][p], upper triangle then mirrored.
  const m = new Float64Array(r * r);
  for (let j = 0; j < r; j++) {
    const uj = j * d;
    for (let i = 0; i <= j; i++) {
      const ti = i * d;
      let a0 = 0;
      let a1 = 0;
      let p = j;
      for (; p + 1 < d; p += 2) {
        a0 += t[ti + p]! * u[uj + p]!;
        a1 += t[ti + p + 1]! * u[uj + p + 1]!;
      }
      if (p < d) a0 += t[ti + p]! * u[uj + p]!;
      m[i * r + j] = a0 + a1;
      m[j * r + i] = a0 + a1;
    }
  }
  return traceSqrtPsd(m, r);
}

/** Fréchet distance between two Gaussians (the FID formula). */
export function frechetDistance(a: GaussianStats, b: GaussianStats, options: Pick<FidOptions, 'offset'> & { method?: 'eigen' | 'cholesky' } = {}): number {
  if (a.dim !== b.dim) throw new ShapeError(`fid: feature dimensions differ: ${a.dim} vs ${b.dim}`);
  const d = a.dim;
  let s1 = a.sigma;
  let s2 = b.sigma;
  if (options.offset) {
    if (!(options.offset > 0)) throw new InvalidArgumentError(`fid: offset must be positive, got ${options.offset}`);
    s1 = Float64Array.from(s1);
    s2 = Float64Array.from(s2);
    for (let i = 0; i < d; i++) {
      s1[i * d + i]! += options.offset;
      s2[i * d + i]! += options.offset;
    }
  }
  const tr = options.method === 'eigen' ? traceSqrtProduct(s1, s2, d) : traceSqrtProductCholesky(s1, s2, d);
  return meanTerm(a.mu, b.mu) + trace(s1, d) + trace(s2, d) - 2 * tr;
}

/**
 * With A, B the centered sets scaled by 1/√(n−1): Σ1 Σ2 = AᵀA BᵀB has the nonzero eigenvalues of
 * (ABᵀ)(ABᵀ)ᵀ, so tr √(Σ1 Σ2) is the sum of singular values of the n1×n2 matrix ABᵀ — exact, and much
 * cheaper than d×d work when there are fewer samples than dimensions.
 */
function fidGram(x: Matrix, y: Matrix): number {
  const mx = colMeans(x);
  const my = colMeans(y);
  const a = centered(x, mx);
  const b = centered(y, my);
  const d = x.cols;
  const sa = 1 / Math.sqrt(x.rows - 1);
  const sb = 1 / Math.sqrt(y.rows - 1);
  let trA = 0;
  for (const v of a.data) trA += v * v;
  let trB = 0;
  for (const v of b.data) trB += v * v;
  trA *= sa * sa;
  trB *= sb * sb;
  // C = A Bᵀ (n1×n2), then the smaller Gram matrix of C.
  const n1 = x.rows;
  const n2 = y.rows;
  const c = new Float64Array(n1 * n2);
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += a.data[i * d + p]! * b.data[j * d + p]!;
      c[i * n2 + j] = s * sa * sb;
    }
  }
  let g: Float64Array;
  let k: number;
  if (n1 <= n2) {
    k = n1;
    g = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = i; j < k; j++) {
      let s = 0;
      for (let p = 0; p < n2; p++) s += c[i * n2 + p]! * c[j * n2 + p]!;
      g[i * k + j] = s;
      g[j * k + i] = s;
    }
  } else {
    k = n2;
    g = new Float64Array(k * k);
    for (let p = 0; p < n1; p++) for (let i = 0; i < k; i++) {
      const ci = c[p * n2 + i]!;
      if (ci === 0) continue;
      for (let j = i; j < k; j++) g[i * k + j]! += ci * c[p * n2 + j]!;
    }
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) g[j * k + i] = g[i * k + j]!;
  }
  const tr = sumSqrtEigenvalues(eigh(g, k, { vectors: false }).values);
  return meanTerm(mx, my) + trA + trB - 2 * tr;
}

/**
 * Fréchet Inception Distance between two N×d feature sets (rows are samples), in float64. Needs at
 * least 2 samples per set; correct for N < d (singular covariances).
 */
export function fid(a: MatrixLike, b: MatrixLike, options: FidOptions = {}): MetricResult {
  const x = toMatrix('fid: a', a, 2);
  const y = toMatrix('fid: b', b, 2);
  sameCols(x, y, 'fid');
  const method = options.method ?? 'auto';
  if (!['auto', 'eigen', 'cholesky', 'gram'].includes(method)) throw new InvalidArgumentError(`fid: method must be auto, eigen, cholesky or gram, got ${JSON.stringify(method)}`);
  const useGram = !options.offset && (method === 'gram' || (method === 'auto' && Math.min(x.rows, y.rows) <= x.cols));
  const dense = method === 'eigen' ? 'eigen' : 'cholesky';
  const value = useGram
    ? fidGram(x, y)
    : frechetDistance({ mu: colMeans(x), sigma: covariance(x), dim: x.cols }, { mu: colMeans(y), sigma: covariance(y), dim: y.cols }, { offset: options.offset, method: dense });
  return {
    name: 'fid',
    value: Math.max(value, 0),
    higherIsBetter: false,
    signature: `fid|float64|${useGram ? 'gram' : dense}${options.offset ? `|offset:${options.offset}` : ''}`,
    details: { n_a: x.rows, n_b: y.rows, dim: x.cols, method: useGram ? 'gram' : dense, raw: value },
  };
}
