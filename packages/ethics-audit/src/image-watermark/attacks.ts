import { InvalidArgumentError, Rng, describe } from '@nutshell/core';
import { checkImage, imageLike, type PixelImage } from './image.js';
import { jpegLike } from './jpeg-like.js';

/** Image distortions a watermark should survive, each a pure function of the image (and a seed). */

/** Adds N(0, σ²) noise (0–255 scale) to every colour channel; clips to [0, 255]. */
export function addGaussianNoise(img: PixelImage, sigma: number, seed: number | string = 0): PixelImage {
  checkImage(img, 'addGaussianNoise');
  if (!(sigma >= 0)) throw new InvalidArgumentError(`addGaussianNoise: sigma must be >= 0, got ${describe(sigma)}`);
  const rng = new Rng(seed), c = img.channels;
  const out = Float64Array.from(img.data as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) if (c !== 4 || i % 4 !== 3) out[i] = out[i]! + sigma * rng.normal();
  return imageLike(img, out);
}

/** x ← (x − 128)·contrast + 128 + brightness on every colour channel, clipped. */
export function adjustBrightnessContrast(img: PixelImage, { brightness = 0, contrast = 1 }: { brightness?: number; contrast?: number }): PixelImage {
  checkImage(img, 'adjustBrightnessContrast');
  if (!Number.isFinite(brightness) || !(contrast > 0)) throw new InvalidArgumentError(`adjustBrightnessContrast: brightness must be finite and contrast > 0, got ${describe(brightness)}, ${describe(contrast)}`);
  const c = img.channels;
  const out = Float64Array.from(img.data as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) if (c !== 4 || i % 4 !== 3) out[i] = (out[i]! - 128) * contrast + 128 + brightness;
  return imageLike(img, out);
}

/** Removes `top`, `left`, `bottom`, `right` pixels from the borders. */
export function cropImage(img: PixelImage, { top = 0, left = 0, bottom = 0, right = 0 }: { top?: number; left?: number; bottom?: number; right?: number }): PixelImage {
  checkImage(img, 'cropImage');
  for (const v of [top, left, bottom, right]) if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`cropImage: crop sizes must be integers >= 0, got ${describe(v)}`);
  const w = img.width - left - right, h = img.height - top - bottom, c = img.channels;
  if (w <= 0 || h <= 0) throw new InvalidArgumentError(`cropImage: nothing left of a ${img.width}×${img.height} image`);
  const out = new Float64Array(w * h * c);
  for (let r = 0; r < h; r++) for (let x = 0; x < w * c; x++) out[r * w * c + x] = img.data[(r + top) * img.width * c + left * c + x]!;
  return imageLike({ ...img, width: w, height: h }, out);
}

/** Bilinear resampling with half-pixel centres (downscaling by 2 averages 2×2 blocks exactly). */
export function resizeBilinear(img: PixelImage, width: number, height: number): PixelImage {
  checkImage(img, 'resizeBilinear');
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) throw new InvalidArgumentError(`resizeBilinear: size must be positive integers, got ${describe(width)}×${describe(height)}`);
  const c = img.channels, W = img.width, H = img.height, d = img.data;
  const out = new Float64Array(width * height * c);
  const sy = H / height, sx = W / width;
  for (let r = 0; r < height; r++) {
    const fy = Math.min(H - 1, Math.max(0, (r + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(H - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(W - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(W - 1, x0 + 1), wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = d[(y0 * W + x0) * c + k]!, b = d[(y0 * W + x1) * c + k]!, e = d[(y1 * W + x0) * c + k]!, f = d[(y1 * W + x1) * c + k]!;
        out[(r * width + x) * c + k] = (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * e + wx * f);
      }
    }
  }
  return imageLike({ ...img, width, height }, out);
}

/** Rounds to `bits`-bit levels (8 = plain 8-bit storage) and clips. */
export function quantizeImage(img: PixelImage, bits = 8): PixelImage {
  checkImage(img, 'quantizeImage');
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new InvalidArgumentError(`quantizeImage: bits must be an integer in 1…8, got ${describe(bits)}`);
  const step = 2 ** (8 - bits);
  const out = Float64Array.from(img.data as ArrayLike<number>, (v) => Math.min(255, Math.max(0, Math.round(v / step) * step)));
  return imageLike(img, out);
}

export interface ImageAttack {
  name: string;
  /** Human-readable strength, for reports. */
  strength: string;
  apply(img: PixelImage, seed: number): PixelImage;
}

/** The attacks `robustnessReport` runs by default, at the strengths its tests and README state. */
export const DEFAULT_IMAGE_ATTACKS: readonly ImageAttack[] = Object.freeze([
  { name: 'none', strength: '-', apply: (x: PixelImage) => x },
  { name: 'quantize-8bit', strength: 'round to 256 levels', apply: (x: PixelImage) => quantizeImage(x, 8) },
  { name: 'quantize-6bit', strength: 'round to 64 levels', apply: (x: PixelImage) => quantizeImage(x, 6) },
  { name: 'gaussian-noise', strength: 'σ = 5', apply: (x: PixelImage, s: number) => addGaussianNoise(x, 5, s) },
  { name: 'gaussian-noise', strength: 'σ = 10', apply: (x: PixelImage, s: number) => addGaussianNoise(x, 10, s) },
  { name: 'brightness', strength: '+20', apply: (x: PixelImage) => adjustBrightnessContrast(x, { brightness: 20 }) },
  { name: 'contrast', strength: '×0.7', apply: (x: PixelImage) => adjustBrightnessContrast(x, { contrast: 0.7 }) },
  { name: 'crop', strength: '5% from each side', apply: (x: PixelImage) => { const t = Math.round(0.05 * x.height), l = Math.round(0.05 * x.width); return cropImage(x, { top: t, bottom: t, left: l, right: l }); } },
  { name: 'crop', strength: '3 px top, 5 px left', apply: (x: PixelImage) => cropImage(x, { top: 3, left: 5 }) },
  { name: 'resize', strength: '75% and back', apply: (x: PixelImage) => resizeBilinear(resizeBilinear(x, Math.round(0.75 * x.width), Math.round(0.75 * x.height)), x.width, x.height) },
  { name: 'resize', strength: '50% and back', apply: (x: PixelImage) => resizeBilinear(resizeBilinear(x, Math.round(0.5 * x.width), Math.round(0.5 * x.height)), x.width, x.height) },
  { name: 'jpeg', strength: 'quality 90', apply: (x: PixelImage) => jpegLike(x, 90) },
  { name: 'jpeg', strength: 'quality 75', apply: (x: PixelImage) => jpegLike(x, 75) },
  { name: 'jpeg', strength: 'quality 50', apply: (x: PixelImage) => jpegLike(x, 50) },
]);
