/**
 * The orthonormal 8×8 DCT-II (JPEG's FDCT: F(u,v) = ¼ C(u) C(v) Σ f(x,y) cos((2x+1)uπ/16) cos((2y+1)vπ/16),
 * C(0) = 1/√2) and its inverse, applied separably in place. Orthonormal, so pixel-domain squared error
 * equals coefficient-domain squared error (PSNR can be budgeted on coefficients).
 */
const M = new Float64Array(64); // M[u*8 + x] = c(u) cos((2x+1)uπ/16)
for (let u = 0; u < 8; u++) {
  const c = u === 0 ? Math.SQRT1_2 / 2 : 0.5;
  for (let x = 0; x < 8; x++) M[u * 8 + x] = c * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
}

const tmp = new Float64Array(64);

/** Forward DCT of the 8×8 block at (row0, col0) of a plane with `stride` columns, into `out` (row-major [v][u]: v vertical frequency). */
export function dct8x8(plane: ArrayLike<number>, stride: number, row0: number, col0: number, out: Float64Array): void {
  // Rows first: tmp[y][u] = Σ_x M[u][x] f[y][x].
  for (let y = 0; y < 8; y++) {
    const base = (row0 + y) * stride + col0;
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let x = 0; x < 8; x++) s += M[u * 8 + x]! * plane[base + x]!;
      tmp[y * 8 + u] = s;
    }
  }
  // Then columns: out[v][u] = Σ_y M[v][y] tmp[y][u].
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < 8; y++) s += M[v * 8 + y]! * tmp[y * 8 + u]!;
      out[v * 8 + u] = s;
    }
  }
}

/** Inverse DCT of `coef` ([v][u]) written into the 8×8 block at (row0, col0) of `plane`. */
export function idct8x8(coef: Float64Array, plane: Float64Array | Float32Array, stride: number, row0: number, col0: number): void {
  // tmp[y][u] = Σ_v M[v][y] coef[v][u]
  for (let y = 0; y < 8; y++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let v = 0; v < 8; v++) s += M[v * 8 + y]! * coef[v * 8 + u]!;
      tmp[y * 8 + u] = s;
    }
  }
  for (let y = 0; y < 8; y++) {
    const base = (row0 + y) * stride + col0;
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let u = 0; u < 8; u++) s += M[u * 8 + x]! * tmp[y * 8 + u]!;
      plane[base + x] = s;
    }
  }
}
