/**
 * SVD of a low-rank product M = P·Q (P [m, R], Q [R, n], R small) without forming M: thin QR of P
 * and Qᵀ, then a one-sided Jacobi SVD of the R×R core. Float64 throughout. Returns the leading k
 * triplets with singular values in descending order (zero-padded when k > R).
 */
export interface LowRankSvd {
  /** [m, k] row-major. */
  U: Float64Array;
  S: Float64Array;
  /** [k, n] row-major (the rows are right singular vectors). */
  Vt: Float64Array;
}

/** Thin QR by modified Gram–Schmidt with one re-orthogonalisation pass; columns of X [rows, cols]. */
function thinQR(X: Float64Array, rows: number, cols: number): { Q: Float64Array; R: Float64Array } {
  const Q = new Float64Array(rows * cols);
  const R = new Float64Array(cols * cols);
  const v = new Float64Array(rows);
  let scale = 0;
  for (let i = 0; i < X.length; i++) scale = Math.max(scale, Math.abs(X[i]!));
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) v[i] = X[i * cols + j]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < rows; i++) dot += Q[i * cols + k]! * v[i]!;
        R[k * cols + j] += dot;
        for (let i = 0; i < rows; i++) v[i] -= dot * Q[i * cols + k]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < rows; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    // A dependent column contributes nothing: leave its Q column zero.
    if (norm <= 1e-14 * Math.max(scale, 1e-300) * Math.sqrt(rows)) continue;
    R[j * cols + j] = norm;
    for (let i = 0; i < rows; i++) Q[i * cols + j] = v[i]! / norm;
  }
  return { Q, R };
}

/** One-sided Jacobi SVD of a square matrix A [n, n]: A = U diag(S) Vᵀ. */
function jacobiSvd(A: Float64Array, n: number): { U: Float64Array; S: Float64Array; V: Float64Array } {
  const U = Float64Array.from(A);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let a = 0, b = 0, c = 0;
        for (let i = 0; i < n; i++) {
          const up = U[i * n + p]!, uq = U[i * n + q]!;
          a += up * up;
          b += uq * uq;
          c += up * uq;
        }
        if (Math.abs(c) <= 1e-15 * Math.sqrt(a * b) || c === 0) continue;
        off = Math.max(off, Math.abs(c) / Math.sqrt(a * b));
        const zeta = (b - a) / (2 * c);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < n; i++) {
          const up = U[i * n + p]!, uq = U[i * n + q]!;
          U[i * n + p] = cs * up - sn * uq;
          U[i * n + q] = sn * up + cs * uq;
          const vp = V[i * n + p]!, vq = V[i * n + q]!;
          V[i * n + p] = cs * vp - sn * vq;
          V[i * n + q] = sn * vp + cs * vq;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const S = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += U[i * n + j]! ** 2;
    S[j] = Math.sqrt(s);
    if (S[j]! > 0) for (let i = 0; i < n; i++) U[i * n + j] /= S[j]!;
  }
  return { U, S, V };
}

export function lowRankSvd(P: Float64Array, Q: Float64Array, m: number, R: number, n: number, k: number): LowRankSvd {
  const { Q: Qp, R: Rp } = thinQR(P, m, R);
  const Qt = new Float64Array(n * R);
  for (let i = 0; i < R; i++) for (let j = 0; j < n; j++) Qt[j * R + i] = Q[i * n + j]!;
  const { Q: Qq, R: Rq } = thinQR(Qt, n, R);
  // core = Rp · Rqᵀ, so M = Qp · core · Qqᵀ.
  const core = new Float64Array(R * R);
  for (let i = 0; i < R; i++) for (let j = 0; j < R; j++) {
    let s = 0;
    for (let l = 0; l < R; l++) s += Rp[i * R + l]! * Rq[j * R + l]!;
    core[i * R + j] = s;
  }
  const svd = jacobiSvd(core, R);
  const order = [...svd.S.keys()].sort((a, b) => svd.S[b]! - svd.S[a]!);
  const U = new Float64Array(m * k);
  const S = new Float64Array(k);
  const Vt = new Float64Array(k * n);
  for (let c = 0; c < Math.min(k, R); c++) {
    const j = order[c]!;
    S[c] = svd.S[j]!;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let l = 0; l < R; l++) s += Qp[i * R + l]! * svd.U[l * R + j]!;
      U[i * k + c] = s;
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let l = 0; l < R; l++) s += Qq[i * R + l]! * svd.V[l * R + j]!;
      Vt[c * n + i] = s;
    }
  }
  return { U, S, Vt };
}
