import { InvalidArgumentError, ShapeError, describe } from '@nutshell/core';

/** An image as [H, W] or [H, W, C] row-major values (or anything with `shape` and `dataSync`). */
export type ImageLike = { shape: readonly number[]; data: ArrayLike<number> } | { shape: readonly number[]; dataSync(): ArrayLike<number> };

interface Img {
  h: number;
  w: number;
  c: number;
  data: ArrayLike<number>;
}

function toImage(name: string, x: ImageLike): Img {
  if (!x || typeof x !== 'object' || !('shape' in x)) throw new InvalidArgumentError(`${name}: expected {shape: [H, W(, C)], data}, got ${describe(x)}`);
  const shape = x.shape;
  if (shape.length !== 2 && shape.length !== 3) throw new ShapeError(`${name}: expected shape [H, W] or [H, W, C], got [${shape.join(', ')}]`);
  const data = 'dataSync' in x ? x.dataSync() : x.data;
  const [h, w, c = 1] = shape as [number, number, number?];
  if (data.length !== h * w * c) throw new ShapeError(`${name}: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new InvalidArgumentError(`${name}: value ${i} is ${data[i]} (must be finite)`);
  return { h, w, c, data };
}

function sameShape(a: Img, b: Img, what: string): void {
  if (a.h !== b.h || a.w !== b.w || a.c !== b.c) throw new ShapeError(`${what}: images differ in shape: [${a.h}, ${a.w}, ${a.c}] vs [${b.h}, ${b.w}, ${b.c}]`);
}

/** skimage's default data range: 255 for 8-bit data, else 1 for non-negative floats and 2 if any value is negative. */
function defaultRange(x: ImageLike, img: Img): number {
  if ('data' in x && x.data instanceof Uint8Array) return 255;
  for (let i = 0; i < img.data.length; i++) if (img.data[i]! < 0) return 2;
  return 1;
}

/** Peak signal-to-noise ratio in dB, 10·log10(range² / MSE) (Infinity for identical images). */
export function psnr(reference: ImageLike, test: ImageLike, options: { dataRange?: number } = {}): number {
  const a = toImage('psnr: reference', reference);
  const b = toImage('psnr: test', test);
  sameShape(a, b, 'psnr');
  const range = options.dataRange ?? defaultRange(reference, a);
  if (!(range > 0)) throw new InvalidArgumentError(`psnr: dataRange must be positive, got ${range}`);
  let mse = 0;
  for (let i = 0; i < a.data.length; i++) mse += (a.data[i]! - b.data[i]!) ** 2;
  mse /= a.data.length;
  return 10 * Math.log10((range * range) / mse);
}

/** scipy.ndimage's 'reflect' boundary (d c b a | a b c d | d c b a). */
function reflect(i: number, n: number): number {
  for (;;) {
    if (i < 0) i = -i - 1;
    else if (i >= n) i = 2 * n - i - 1;
    else return i;
  }
}

/** Separable Gaussian filter of one H×W channel (scipy.ndimage.gaussian_filter with mode='reflect'). */
function gaussianFilter(src: Float64Array, h: number, w: number, weights: Float64Array): Float64Array {
  const r = (weights.length - 1) / 2;
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += weights[k + r]! * src[y * w + reflect(x + k, w)]!;
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += weights[k + r]! * tmp[reflect(y + k, h) * w + x]!;
      out[y * w + x] = s;
    }
  }
  return out;
}

export interface SsimOptions {
  dataRange?: number;
  /** Gaussian σ (default 1.5); the window is 2·⌊3.5σ + 0.5⌋ + 1 = 11 taps, as skimage. */
  sigma?: number;
  k1?: number;
  k2?: number;
  /** Normalize covariances by N−1 (skimage's use_sample_covariance); default false, as the SSIM paper. */
  sampleCovariance?: boolean;
}

/**
 * Mean structural similarity as skimage's `structural_similarity(..., gaussian_weights=True,
 * sigma=1.5, use_sample_covariance=False, data_range=R)`: Gaussian-weighted local statistics with
 * reflect padding, the SSIM map averaged after cropping (win−1)/2 pixels from each border, and the
 * mean over channels for colour images.
 */
export function ssim(reference: ImageLike, test: ImageLike, options: SsimOptions = {}): number {
  const a = toImage('ssim: reference', reference);
  const b = toImage('ssim: test', test);
  sameShape(a, b, 'ssim');
  const sigma = options.sigma ?? 1.5;
  const radius = Math.floor(3.5 * sigma + 0.5);
  const win = 2 * radius + 1;
  if (a.h < win || a.w < win) throw new ShapeError(`ssim: images must be at least ${win}×${win} for a ${win}-tap window, got ${a.h}×${a.w}`);
  const range = options.dataRange ?? defaultRange(reference, a);
  const weights = new Float64Array(win);
  let wsum = 0;
  for (let k = -radius; k <= radius; k++) {
    weights[k + radius] = Math.exp((-0.5 * k * k) / (sigma * sigma));
    wsum += weights[k + radius]!;
  }
  for (let k = 0; k < win; k++) weights[k]! /= wsum;
  const np = win * win;
  const covNorm = options.sampleCovariance ? np / (np - 1) : 1;
  const c1 = ((options.k1 ?? 0.01) * range) ** 2;
  const c2 = ((options.k2 ?? 0.03) * range) ** 2;
  const { h, w, c } = a;
  let total = 0;
  for (let ch = 0; ch < c; ch++) {
    const x = new Float64Array(h * w);
    const y = new Float64Array(h * w);
    for (let i = 0; i < h * w; i++) {
      x[i] = a.data[i * c + ch]!;
      y[i] = b.data[i * c + ch]!;
    }
    const sq = (u: Float64Array, v: Float64Array) => u.map((val, i) => val * v[i]!);
    const ux = gaussianFilter(x, h, w, weights);
    const uy = gaussianFilter(y, h, w, weights);
    const uxx = gaussianFilter(sq(x, x), h, w, weights);
    const uyy = gaussianFilter(sq(y, y), h, w, weights);
    const uxy = gaussianFilter(sq(x, y), h, w, weights);
    let sum = 0;
    let count = 0;
    for (let yy = radius; yy < h - radius; yy++) {
      for (let xx = radius; xx < w - radius; xx++) {
        const i = yy * w + xx;
        const vx = covNorm * (uxx[i]! - ux[i]! * ux[i]!);
        const vy = covNorm * (uyy[i]! - uy[i]! * uy[i]!);
        const vxy = covNorm * (uxy[i]! - ux[i]! * uy[i]!);
        const s = ((2 * ux[i]! * uy[i]! + c1) * (2 * vxy + c2)) / ((ux[i]! ** 2 + uy[i]! ** 2 + c1) * (vx + vy + c2));
        sum += s;
        count++;
      }
    }
    total += sum / count;
  }
  return total / c;
}
