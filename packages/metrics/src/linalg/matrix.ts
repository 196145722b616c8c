import { InvalidArgumentError, ShapeError, describe } from '@nutshell/core';

/**
 * A dense row-major float64 matrix. The reference metrics (FID, KID, PRDC, …) run in plain float64
 * JavaScript, not through tfjs: tfjs computes in float32, and FID's trace of a matrix square root
 * loses several digits in float32 — enough to miss the reference tools by more than 1e-3.
 */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Anything that can be read as an N×d feature matrix. */
export type MatrixLike =
  | Matrix
  | { rows: number; cols: number; data: ArrayLike<number> }
  | { shape: readonly number[]; data: ArrayLike<number> }
  | { shape: readonly number[]; dataSync(): ArrayLike<number> }
  | readonly (readonly number[])[]
  | readonly ArrayLike<number>[];

/**
 * Reads features as a float64 matrix, checking the shape and that every value is finite. Tensors
 * (anything with `shape` and `dataSync`) are read, not disposed.
 */
export function toMatrix(name: string, input: MatrixLike, minRows = 1): Matrix {
  let rows: number;
  let cols: number;
  let src: ArrayLike<number>;
  if (Array.isArray(input)) {
    rows = input.length;
    cols = rows > 0 ? (input[0] as ArrayLike<number>).length : 0;
    const data = new Float64Array(rows * cols);
    (input as ArrayLike<number>[]).forEach((row, i) => {
      if (!row || typeof row.length !== 'number') throw new ShapeError(`${name}: row ${i} is ${describe(row)}, not an array of numbers`);
      if (row.length !== cols) throw new ShapeError(`${name}: ragged rows: row 0 has ${cols} values, row ${i} has ${row.length}`);
      for (let j = 0; j < cols; j++) data[i * cols + j] = row[j]!;
    });
    src = data;
  } else if (input && typeof input === 'object' && 'rows' in input && 'cols' in input) {
    rows = input.rows;
    cols = input.cols;
    src = input.data;
  } else if (input && typeof input === 'object' && 'shape' in input) {
    if (input.shape.length !== 2) throw new ShapeError(`${name}: expected a rank-2 [N, d] array, got shape [${input.shape.join(', ')}]`);
    [rows, cols] = input.shape as [number, number];
    src = 'dataSync' in input ? input.dataSync() : input.data;
  } else {
    throw new InvalidArgumentError(`${name}: expected an N×d matrix (array of rows, {rows, cols, data} or a rank-2 tensor), got ${describe(input)}`);
  }
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1) throw new ShapeError(`${name}: invalid shape [${rows}, ${cols}]`);
  if (src.length !== rows * cols) throw new ShapeError(`${name}: ${src.length} values do not fill shape [${rows}, ${cols}]`);
  if (rows < minRows) throw new InvalidArgumentError(`${name}: needs at least ${minRows} rows (samples), got ${rows}`);
  const data = src instanceof Float64Array ? src : Float64Array.from(src);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new InvalidArgumentError(`${name}: value at row ${Math.floor(i / cols)}, column ${i % cols} is ${data[i]} (features must be finite)`);
    }
  }
  return { rows, cols, data };
}

export function sameCols(a: Matrix, b: Matrix, what: string): void {
  if (a.cols !== b.cols) throw new ShapeError(`${what}: feature dimensions differ: ${a.cols} vs ${b.cols}`);
}

/** Column means. */
export function colMeans(m: Matrix): Float64Array {
  const mu = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) mu[j]! += m.data[o + j]!;
  }
  for (let j = 0; j < m.cols; j++) mu[j]! /= m.rows;
  return mu;
}

/** Rows minus the column means. */
export function centered(m: Matrix, mu = colMeans(m)): Matrix {
  const data = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) data[o + j] = m.data[o + j]! - mu[j]!;
  }
  return { rows: m.rows, cols: m.cols, data };
}

/**
 * Sample covariance (ddof = 1, like numpy.cov(rowvar=False)) of the rows; symmetric d×d. Samples go
 * in chunks of 64, transposed so each entry of the upper triangle is one contiguous dot product per
 * chunk: the d×d accumulator is swept N/64 times instead of N times (the cache-bound part for d = 2048).
 */
export function covariance(m: Matrix, mu = colMeans(m)): Float64Array {
  const d = m.cols;
  const cov = new Float64Array(d * d);
  const B = 64;
  const t = new Float64Array(d * B);
  for (let s0 = 0; s0 < m.rows; s0 += B) {
    const b = Math.min(B, m.rows - s0);
    for (let s = 0; s < b; s++) {
      const o = (s0 + s) * d;
      for (let i = 0; i < d; i++) t[i * B + s] = m.data[o + i]! - mu[i]!;
    }
    for (let i = 0; i < d; i++) {
      const ti = i * B;
      const ri = i * d;
      for (let j = i; j < d; j++) {
        const tj = j * B;
        let a0 = 0;
        let a1 = 0;
        let s = 0;
        for (; s + 1 < b; s += 2) {
          a0 += t[ti + s]! * t[tj + s]!;
          a1 += t[ti + s + 1]! * t[tj + s + 1]!;
        }
        if (s < b) a0 += t[ti + s]! * t[tj + s]!;
        cov[ri + j]! += a0 + a1;
      }
    }
  }
  const norm = 1 / (m.rows - 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov[i * d + j]! * norm;
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return cov;
}

/** C = A·B for row-major A (n×k) and B (k×m). */
export function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ci = i * m;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const bp = p * m;
      for (let j = 0; j < m; j++) c[ci + j]! += aip * b[bp + j]!;
    }
  }
  return c;
}

/** C = A·Bᵀ for row-major A (n×k) and B (m×k): dot products of rows. */
export function matmulNT(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ai = i * k;
    for (let j = 0; j < m; j++) {
      const bj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
      c[i * m + j] = s;
    }
  }
  return c;
}

export function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i]!;
  return t;
}

/** Squared Euclidean distances between the rows of A (n×d) and B (m×d), computed directly (no cancellation). */
export function squaredDistances(a: Matrix, b: Matrix): Float64Array {
  const d = a.cols;
  const out = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    const ai = i * d;
    for (let j = 0; j < b.rows; j++) {
      const bj = j * d;
      let s = 0;
      for (let p = 0; p < d; p++) {
        const t = a.data[ai + p]! - b.data[bj + p]!;
        s += t * t;
      }
      out[i * b.rows + j] = s;
    }
  }
  return out;
}
