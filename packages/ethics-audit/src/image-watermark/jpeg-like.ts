import { InvalidArgumentError, describe } from '@nutshell/core';
import { dct8x8, idct8x8 } from './dct8.js';
import { checkImage, imageLike, type PixelImage } from './image.js';

/**
 * Baseline-JPEG-like lossy compression without the entropy coder (which is lossless and does not
 * change pixels): RGB → YCbCr (JFIF), level shift by 128, 8×8 DCT, quantization with the standard
 * Annex K tables scaled to `quality` by the IJG formula, dequantization, inverse DCT, rounding and
 * clipping. Chroma is not subsampled (4:4:4). Edges are padded by replication like an encoder does.
 */

const LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99];

/** The IJG quantization table for a quality in 1…100 (row-major [v][u]). */
export function jpegQuantTable(quality: number, chroma = false): Int32Array {
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new InvalidArgumentError(`jpegQuantTable: quality must be an integer in 1…100, got ${describe(quality)}`);
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const base = chroma ? CHROMA : LUMA;
  return Int32Array.from(base, (q) => Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100))));
}

function compressPlane(plane: Float64Array, width: number, height: number, table: Int32Array): void {
  const W = Math.ceil(width / 8) * 8, H = Math.ceil(height / 8) * 8;
  const padded = new Float64Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) padded[r * W + c] = plane[Math.min(r, height - 1) * width + Math.min(c, width - 1)]! - 128;
  const blk = new Float64Array(64);
  for (let r = 0; r < H; r += 8) for (let c = 0; c < W; c += 8) {
    dct8x8(padded, W, r, c, blk);
    for (let i = 0; i < 64; i++) blk[i] = Math.round(blk[i]! / table[i]!) * table[i]!;
    idct8x8(blk, padded, W, r, c);
  }
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) plane[r * width + c] = Math.min(255, Math.max(0, Math.round(padded[r * W + c]! + 128)));
}

/** Compresses and decompresses like baseline JPEG at `quality` (1…100); returns 8-bit-valued pixels in the input's storage. */
export function jpegLike(img: PixelImage, quality: number): PixelImage {
  checkImage(img, 'jpegLike');
  const { width, height, channels: c, data } = img;
  const n = width * height;
  const lt = jpegQuantTable(quality), ct = jpegQuantTable(quality, true);
  const out = new Float64Array(data.length);
  if (c === 1) {
    const p = Float64Array.from({ length: n }, (_, i) => data[i]!);
    compressPlane(p, width, height, lt);
    out.set(p);
  } else {
    const Y = new Float64Array(n), Cb = new Float64Array(n), Cr = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const R = data[i * c]!, G = data[i * c + 1]!, B = data[i * c + 2]!;
      Y[i] = 0.299 * R + 0.587 * G + 0.114 * B;
      Cb[i] = 128 - 0.168736 * R - 0.331264 * G + 0.5 * B;
      Cr[i] = 128 + 0.5 * R - 0.418688 * G - 0.081312 * B;
    }
    compressPlane(Y, width, height, lt);
    compressPlane(Cb, width, height, ct);
    compressPlane(Cr, width, height, ct);
    for (let i = 0; i < n; i++) {
      out[i * c] = Math.round(Y[i]! + 1.402 * (Cr[i]! - 128));
      out[i * c + 1] = Math.round(Y[i]! - 0.344136 * (Cb[i]! - 128) - 0.714136 * (Cr[i]! - 128));
      out[i * c + 2] = Math.round(Y[i]! + 1.772 * (Cb[i]! - 128));
      if (c === 4) out[i * c + 3] = data[i * c + 3]!;
    }
  }
  return imageLike(img, out);
}
