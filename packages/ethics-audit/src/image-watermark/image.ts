import { InvalidArgumentError, ShapeError, describe, type Tensor } from '@nutshell/core';

/**
 * A plain raster image: row-major, interleaved channels (HWC), values on the 0–255 scale.
 * 1 channel = grayscale, 3 = RGB, 4 = RGBA (alpha is carried through untouched).
 */
export interface PixelImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Float32Array | Float64Array | Uint8Array | Uint8ClampedArray | number[];
}

/** Checks shape and values; `who` prefixes the error message. */
export function checkImage(img: PixelImage, who: string): void {
  if (!img || typeof img !== 'object') throw new InvalidArgumentError(`${who}: expected an image {width, height, channels, data}, got ${describe(img)}`);
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) throw new InvalidArgumentError(`${who}: width and height must be positive integers, got ${describe(width)}×${describe(height)}`);
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new InvalidArgumentError(`${who}: channels must be 1, 3 or 4, got ${describe(channels)}`);
  if (!data || typeof data.length !== 'number') throw new InvalidArgumentError(`${who}: data must be an array of pixel values, got ${describe(data)}`);
  if (data.length !== width * height * channels) throw new ShapeError(`${who}: data has ${data.length} values, expected ${height}×${width}×${channels} = ${width * height * channels}`);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`${who}: pixel value ${i} is ${describe(v)}; values must be finite numbers on the 0–255 scale`);
  }
}

const isIntegerStorage = (d: PixelImage['data']) => d instanceof Uint8Array || d instanceof Uint8ClampedArray;

/** Same shape and storage type as `like`; integer storage rounds, every storage clips to [0, 255]. */
export function imageLike(like: PixelImage, values: Float64Array | Float32Array): PixelImage {
  const n = values.length;
  let data: PixelImage['data'];
  if (isIntegerStorage(like.data)) {
    data = like.data instanceof Uint8Array ? new Uint8Array(n) : new Uint8ClampedArray(n);
    for (let i = 0; i < n; i++) data[i] = Math.min(255, Math.max(0, Math.round(values[i]!)));
  } else {
    data = like.data instanceof Float64Array ? new Float64Array(n) : like.data instanceof Float32Array ? new Float32Array(n) : new Array<number>(n);
    for (let i = 0; i < n; i++) data[i] = Math.min(255, Math.max(0, values[i]!));
  }
  return { width: like.width, height: like.height, channels: like.channels, data };
}

/**
 * Luma plane (BT.601 Y, as JPEG uses) plus what is needed to put a changed luma back: the chroma
 * offsets R−Y, G−Y, B−Y of each pixel (adding ΔY to every colour channel changes Y by ΔY and keeps Cb, Cr).
 */
export function lumaPlane(img: PixelImage): Float64Array {
  const n = img.width * img.height, c = img.channels, d = img.data;
  const y = new Float64Array(n);
  if (c === 1) for (let i = 0; i < n; i++) y[i] = d[i]!;
  else for (let i = 0; i < n; i++) y[i] = 0.299 * d[i * c]! + 0.587 * d[i * c + 1]! + 0.114 * d[i * c + 2]!;
  return y;
}

/** The image with ΔY added to its luma (every colour channel), clipped (and rounded for 8-bit storage). */
export function addToLuma(img: PixelImage, dy: Float64Array): PixelImage {
  const c = img.channels, n = img.width * img.height, d = img.data;
  const out = new Float64Array(d.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) out[i * c + k] = k < 3 ? d[i * c + k]! + dy[i]! : d[i * c + k]!;
  }
  return imageLike(img, out);
}

/**
 * Peak signal-to-noise ratio in dB over all colour channels (alpha excluded): 10·log10(peak² / MSE).
 * Infinity for identical images.
 */
export function psnr(a: PixelImage, b: PixelImage, peak = 255): number {
  checkImage(a, 'psnr');
  checkImage(b, 'psnr');
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) throw new ShapeError(`psnr: images differ in shape (${a.height}×${a.width}×${a.channels} vs ${b.height}×${b.width}×${b.channels})`);
  const c = a.channels, cc = Math.min(c, 3), n = a.width * a.height;
  let se = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < cc; k++) { const e = a.data[i * c + k]! - b.data[i * c + k]!; se += e * e; }
  const mse = se / (n * cc);
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/**
 * A PixelImage from a tensor of shape [H, W] or [H, W, C] (C = 1, 3, 4). `scale` multiplies the values
 * (e.g. 255 for images in [0, 1]; default 1). Reads the tensor; creates none.
 */
export function imageFromTensor(t: Tensor, scale = 1): PixelImage {
  if (!t || typeof (t as Tensor).dataSync !== 'function') throw new InvalidArgumentError(`imageFromTensor: expected a tensor, got ${describe(t)}`);
  const s = t.shape;
  if (s.length !== 2 && s.length !== 3) throw new ShapeError(`imageFromTensor: expected shape [H, W] or [H, W, C], got [${s.join(', ')}]`);
  const channels = (s.length === 2 ? 1 : s[2]) as number;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new ShapeError(`imageFromTensor: C must be 1, 3 or 4, got ${channels}`);
  const src = t.dataSync() as Float32Array;
  const data = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = src[i]! * scale;
  return { width: s[1]!, height: s[0]!, channels: channels as 1 | 3 | 4, data };
}
