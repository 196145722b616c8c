import { InvalidArgumentError } from '@nutshell/core';

/**
 * Eigen-decomposition of a real symmetric matrix in float64: Householder reduction to tridiagonal
 * form followed by the implicit QL algorithm with Wilkinson-style shifts (the EISPACK tred2/tql2
 * pair as published in the JAMA numerics library). Eigenvalues come back ascending; eigenvector k is
 * row k of `vectors` (row-major n×n), i.e. A = Σ_k λ_k v_k v_kᵀ.
 */
export function eigh(a: Float64Array, n: number, options: { vectors?: boolean } = {}): { values: Float64Array; vectors: Float64Array | undefined } {
  if (a.length !== n * n) throw new InvalidArgumentError(`eigh: expected ${n}×${n} values, got ${a.length}`);
  const wantVectors = options.vectors ?? true;
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: wantVectors ? V : undefined };
  // tred2 works on the transpose W = Vᵀ of JAMA's array (A is symmetric, so W starts as A): its
  // O(n³) loops then walk rows, not columns, which matters for cache once n is in the thousands.
  // tql2 rotates columns of V, i.e. rows of W, so W goes to it as it is.
  tred2(V, d, e, n, wantVectors);
  const Vt = V;
  tql2(Vt, d, e, n, wantVectors);
  // Sort ascending.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x]! - d[y]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  if (!wantVectors) return { values, vectors: undefined };
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(Vt.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}

function tred2(W: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors = true): void {
  for (let j = 0; j < n; j++) d[j] = W[j * n + (n - 1)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = W[j * n + (i - 1)]!;
        W[j * n + i] = 0;
        W[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        W[i * n + j] = f;
        g = e[j]! + W[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += W[j * n + k]! * d[k]!;
          e[k]! += W[j * n + k]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) W[j * n + k]! -= f * e[k]! + g * d[k]!;
        d[j] = W[j * n + (i - 1)]!;
        W[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!wantVectors) {
    // Eigenvalues only: the tridiagonal's diagonal sits on W's diagonal; skip the O(n³) accumulation.
    for (let j = 0; j < n; j++) d[j] = W[j * n + j]!;
    e[0] = 0;
    return;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    W[i * n + (n - 1)] = W[i * n + i]!;
    W[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = W[(i + 1) * n + k]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += W[(i + 1) * n + k]! * W[j * n + k]!;
        for (let k = 0; k <= i; k++) W[j * n + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) W[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j * n + (n - 1)]!;
    W[j * n + (n - 1)] = 0;
  }
  W[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); Vt holds eigenvectors as rows. */
function tql2(Vt: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 300) throw new InvalidArgumentError('eigh: QL iteration did not converge (matrix not symmetric or not finite?)');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (wantVectors) {
            const ri = i * n;
            const ri1 = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const hk = Vt[ri1 + k]!;
              const vk = Vt[ri + k]!;
              Vt[ri1 + k] = s * vk + c * hk;
              Vt[ri + k] = c * vk - s * hk;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** Σ √max(λ, 0) over the eigenvalues of a symmetric PSD matrix: the trace of its square root. */
export function traceSqrtPsd(a: Float64Array, n: number): number {
  return sumSqrtEigenvalues(eigh(a, n, { vectors: false }).values);
}

/**
 * Round-off leaves the zero eigenvalues of a rank-deficient PSD matrix at ±ε·|λ_max|, and the square
 * root would blow those up to √ε-sized errors; eigenvalues under n·ε·|λ_max| (numpy's matrix_rank
 * tolerance) are treated as zero.
 */
export function psdTolerance(values: Float64Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max * values.length * 2 ** -52;
}

export function sumSqrtEigenvalues(values: Float64Array): number {
  const tol = psdTolerance(values);
  let t = 0;
  for (const v of values) if (v > tol) t += Math.sqrt(v);
  return t;
}

/** The symmetric PSD square root V·diag(√max(λ,0))·Vᵀ. */
export function sqrtPsd(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = eigh(a, n);
  const tol = psdTolerance(values);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = values[k]! > tol ? Math.sqrt(values[k]!) : 0;
    if (s === 0) continue;
    const vk = k * n;
    for (let i = 0; i < n; i++) {
      const vi = vectors![vk + i]! * s;
      if (vi === 0) continue;
      const oi = i * n;
      for (let j = 0; j < n; j++) out[oi + j]! += vi * vectors![vk + j]!;
    }
  }
  return out;
}
