import { InvalidArgumentError, ShapeError, type Tensor } from '@nutshell/core';
import pngjs from 'pngjs';

export interface GridOptions {
  /** Images per row (default ⌈√N⌉). */
  nrow?: number;
  /** Pixels between images (default 2). */
  padding?: number;
  /** Value range mapped to 0..255 (default [−1, 1], a tanh generator). */
  range?: readonly [number, number];
  /** Grey level of the padding, 0..255 (default 0). */
  padValue?: number;
}

/** An RGBA image: `data` is width·height·4 bytes. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Tiles a batch of NHWC images (1 or 3 channels) into one RGBA image, like torchvision's
 * make_grid: row-major, `padding` pixels apart, values clamped from `range` to 0..255.
 */
export function imageGrid(images: Tensor | { data: ArrayLike<number>; shape: readonly number[] }, options: GridOptions = {}): RgbaImage {
  const shape = images.shape;
  if (shape.length !== 4 || (shape[3] !== 1 && shape[3] !== 3)) throw new ShapeError(`imageGrid: expected NHWC images with 1 or 3 channels, got [${shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const data = 'dataSync' in images ? images.dataSync() : images.data;
  const nrow = options.nrow ?? Math.ceil(Math.sqrt(n));
  if (!Number.isInteger(nrow) || nrow < 1) throw new InvalidArgumentError(`imageGrid: nrow must be a positive integer, got ${nrow}`);
  const pad = options.padding ?? 2;
  const [lo, hi] = options.range ?? [-1, 1];
  if (!(hi > lo)) throw new InvalidArgumentError(`imageGrid: range must be [lo, hi] with lo < hi, got [${lo}, ${hi}]`);
  const rows = Math.ceil(n / nrow);
  const width = nrow * w + (nrow + 1) * pad;
  const height = rows * h + (rows + 1) * pad;
  const out = new Uint8Array(width * height * 4).fill(options.padValue ?? 0);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % nrow) * (w + pad);
    const oy = pad + Math.floor(k / nrow) * (h + pad);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const o = ((oy + y) * width + ox + x) * 4;
      for (let ch = 0; ch < 3; ch++) {
        const v = data[((k * h + y) * w + x) * c + (c === 1 ? 0 : ch)]!;
        out[o + ch] = Math.round(Math.min(1, Math.max(0, (v - lo) / (hi - lo))) * 255);
      }
    }
  }
  return { width, height, data: out };
}

/** PNG bytes of an RGBA image. */
export function encodePng(image: RgbaImage): Uint8Array {
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return new Uint8Array(pngjs.PNG.sync.write(png));
}

/** Decodes PNG bytes to RGBA (for tests and round trips). */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}

/** Writes a grid of images as a PNG file (creating the folder); returns the path. */
export async function writeImageGrid(path: string, images: Tensor, options: GridOptions = {}): Promise<string> {
  const fs = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await fs.mkdir(dirname(path), { recursive: true });
  await fs.writeFile(path, encodePng(imageGrid(images, options)));
  return path;
}
