import { InvalidArgumentError, ShapeError, tensor, type Tensor } from '@nutshell/core';
import { assertFinite, readInput, type TensorLike } from '../input.js';
import { kmeans } from './kmeans.js';
import { packIndices, unpackIndices } from './index-bits.js';

export interface VQOptions {
  /** Codebook size 2^bits (1–12). */
  bits: number;
  /** Sub-vector length d: consecutive (row-major) values quantized together (default 1: scalar k-means). */
  dim?: number;
  /** Values sharing one codebook, a multiple of `dim` (default: the whole tensor, one codebook). */
  groupSize?: number;
  /** k-means++ seed (default 0); the same seed gives the same codes. */
  seed?: number | string;
  /** Lloyd iterations at most (default 100). */
  maxIter?: number;
  /** k-means restarts per codebook, best inertia kept (default 1). */
  nInit?: number;
}

/** A vector-quantized tensor: per group, a float32 codebook of 2^bits d-vectors and packed indices. */
export interface VQQuantized {
  format: 'vq';
  shape: number[];
  bits: number;
  dim: number;
  groupSize: number;
  /** groups × 2^bits × dim float32 values; codebooks of groups with fewer sub-vectors than 2^bits repeat their last entry. */
  codebooks: Float32Array;
  /** One `bits`-bit index per sub-vector, LSB first (see packIndices). */
  indices: Uint8Array;
  /** Σ squared error of the padded sub-vectors (the k-means inertia summed over groups). */
  inertia: number;
}

/**
 * Vector quantization (k-means codebooks): the flattened values are cut into sub-vectors of `dim`
 * (the tail zero-padded), each group of `groupSize` values gets its own codebook of 2^bits centroids
 * (k-means++ seeded, Lloyd iterations), and every sub-vector is stored as a `bits`-bit index.
 */
export function quantizeVQ(x: TensorLike, options: VQOptions, shape?: readonly number[]): VQQuantized {
  const { values, shape: s } = readInput(x, shape, 'quantizeVQ');
  assertFinite(values, 'quantizeVQ');
  const bits = options.bits;
  const dim = options.dim ?? 1;
  if (!Number.isInteger(bits) || bits < 1 || bits > 12) throw new InvalidArgumentError(`quantizeVQ: bits must be an integer in [1, 12], got ${bits}`);
  if (!Number.isInteger(dim) || dim < 1) throw new InvalidArgumentError(`quantizeVQ: dim must be a positive integer, got ${dim}`);
  const n = values.length;
  if (n === 0) throw new ShapeError('quantizeVQ: cannot quantize an empty tensor');
  const padded = Math.ceil(n / dim) * dim;
  const groupSize = options.groupSize ?? padded;
  if (!Number.isInteger(groupSize) || groupSize < dim || groupSize % dim) throw new InvalidArgumentError(`quantizeVQ: groupSize must be a positive multiple of dim ${dim}, got ${groupSize}`);
  const k = 2 ** bits;
  const groups = Math.ceil(padded / groupSize);
  const data = new Float32Array(groups * groupSize);
  data.set(values);
  const codebooks = new Float32Array(groups * k * dim);
  const labels = new Int32Array(padded / dim);
  let inertia = 0;
  for (let g = 0; g < groups; g++) {
    // The last group holds only the sub-vectors that exist (padding stays inside the last sub-vector).
    const start = g * groupSize;
    const end = Math.min(start + groupSize, padded);
    const pts = data.subarray(start, end);
    const m = pts.length / dim;
    const book = codebooks.subarray(g * k * dim, (g + 1) * k * dim);
    const lab = labels.subarray(start / dim, end / dim);
    if (m <= k) {
      // Fewer points than codes: every point is its own centroid (exact).
      book.set(pts);
      for (let j = m; j < k; j++) book.set(pts.subarray((m - 1) * dim, m * dim), j * dim);
      for (let i = 0; i < m; i++) lab[i] = i;
      continue;
    }
    const r = kmeans(pts, dim, k, { seed: `${options.seed ?? 0}/${g}`, maxIter: options.maxIter ?? 100, nInit: options.nInit ?? 1 });
    book.set(r.centroids);
    lab.set(r.labels);
    inertia += r.inertia;
  }
  return { format: 'vq', shape: [...s], bits, dim, groupSize, codebooks, indices: packIndices(labels, bits), inertia };
}

function checkVQ(q: VQQuantized): { n: number; subs: number; k: number } {
  if (!q || q.format !== 'vq') throw new InvalidArgumentError('dequantizeVQ: expected the result of quantizeVQ');
  const n = q.shape.reduce((a, b) => a * b, 1);
  const subs = Math.ceil(n / q.dim);
  const k = 2 ** q.bits;
  const groups = Math.ceil((subs * q.dim) / q.groupSize);
  if (q.codebooks.length !== groups * k * q.dim) throw new ShapeError(`dequantizeVQ: expected ${groups * k * q.dim} codebook values, got ${q.codebooks.length}`);
  if (q.indices.length !== Math.ceil((subs * q.bits) / 8)) throw new ShapeError(`dequantizeVQ: expected ${Math.ceil((subs * q.bits) / 8)} index bytes, got ${q.indices.length}`);
  return { n, subs, k };
}

/** Float32 values of a vector-quantized tensor (row-major, padding dropped). */
export function dequantizeVQValues(q: VQQuantized): Float32Array {
  const { n, subs, k } = checkVQ(q);
  const d = q.dim;
  const idx = unpackIndices(q.indices, q.bits, subs);
  const perGroup = q.groupSize / d;
  const out = new Float32Array(subs * d);
  for (let i = 0; i < subs; i++) {
    const base = (Math.floor(i / perGroup) * k + idx[i]!) * d;
    for (let t = 0; t < d; t++) out[i * d + t] = q.codebooks[base + t]!;
  }
  return out.length === n ? out : out.slice(0, n);
}

/** The tensor of a vector-quantized value (caller disposes). */
export function dequantizeVQ(q: VQQuantized): Tensor {
  return tensor(dequantizeVQValues(q), q.shape, 'float32');
}

/** Exact stored bytes: packed indices plus float32 codebooks. */
export function vqStorageBytes(q: VQQuantized): number {
  return q.indices.length + 4 * q.codebooks.length;
}

/** Bits per original parameter, codebooks included (bits/dim + codebook overhead). */
export function vqBitsPerParameter(q: VQQuantized): number {
  const { n } = checkVQ(q);
  return (8 * vqStorageBytes(q)) / n;
}
