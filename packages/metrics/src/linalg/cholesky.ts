/**
 * Pivoted Cholesky of a symmetric positive semi-definite matrix (LAPACK dpstf2, upper form):
 * P A Pᵀ = Uᵀ U with U upper triangular, its first `rank` rows nonzero. Pivoting on the largest
 * remaining diagonal makes it stable for singular matrices: it stops once every remaining diagonal
 * is ≤ `tol` (default n·ε·max diag, LAPACK's choice), so rank-deficient covariances need no offset.
 * Rows of U are contiguous, and each step updates the trailing upper triangle row by row.
 */
export function pivotedCholesky(a: Float64Array, n: number, tol?: number): { u: Float64Array; perm: Int32Array; rank: number } {
  const u = Float64Array.from(a);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, u[i * n + i]!);
  const stop = tol ?? n * 2 ** -52 * maxDiag;
  let rank = n;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (u[i * n + i]! > u[p * n + p]!) p = i;
    const pivot = u[p * n + p]!;
    if (!(pivot > stop)) {
      rank = k;
      break;
    }
    if (p !== k) swapSymmetric(u, n, k, p, perm);
    const ukk = Math.sqrt(pivot);
    const rk = k * n;
    u[rk + k] = ukk;
    const inv = 1 / ukk;
    for (let j = k + 1; j < n; j++) u[rk + j]! *= inv;
    // Trailing update of the upper triangle: A[i][j] −= U[k][i]·U[k][j] for k < i ≤ j.
    for (let i = k + 1; i < n; i++) {
      const uki = u[rk + i]!;
      if (uki === 0) continue;
      const ri = i * n;
      for (let j = i; j < n; j++) u[ri + j]! -= uki * u[rk + j]!;
    }
  }
  // Clear what is not U: the lower triangle and the rows past the rank.
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    if (i >= rank) u.fill(0, ri, ri + n);
    else u.fill(0, ri, ri + i);
  }
  return { u, perm, rank };
}

/** Swaps indices k < p of the symmetric matrix held in the upper triangle (rows < k hold U already). */
function swapSymmetric(u: Float64Array, n: number, k: number, p: number, perm: Int32Array): void {
  const sw = (x: number, y: number) => {
    const t = u[x]!;
    u[x] = u[y]!;
    u[y] = t;
  };
  for (let r = 0; r < k; r++) sw(r * n + k, r * n + p); // computed rows of U: columns k ↔ p
  sw(k * n + k, p * n + p);
  for (let j = k + 1; j < p; j++) sw(k * n + j, j * n + p);
  for (let j = p + 1; j < n; j++) sw(k * n + j, p * n + j);
  const t = perm[k]!;
  perm[k] = perm[p]!;
  perm[p] = t;
}
