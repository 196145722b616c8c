import { readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError } from '@nutshell/core';
import pngjs from 'pngjs';
import type { PixelImage } from '../image-watermark/image.js';
import { writeFileAtomic } from './atomic.js';

export interface PngImage {
  image: PixelImage & { data: Uint8ClampedArray };
  /** The file's bit depth (16-bit files are read and written at 8 bits). */
  depth: number;
}

/** Reads a PNG (any colour type and depth) as 8-bit gray, RGB or RGBA: gray files stay gray, alpha is kept only where it is used. */
export function readPngImage(path: string, what = '--in'): PngImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
  let png: ReturnType<typeof pngjs.PNG.sync.read>;
  try {
    png = pngjs.PNG.sync.read(bytes);
  } catch (err) {
    throw new FormatError('png', `${path}: ${(err as Error).message}`);
  }
  const { width, height, data: rgba } = png;
  const n = width * height;
  let alpha = false;
  for (let i = 0; i < n && !alpha; i++) alpha = rgba[4 * i + 3] !== 255;
  const channels: 1 | 3 | 4 = alpha ? 4 : png.color ? 3 : 1;
  const data = new Uint8ClampedArray(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = rgba[4 * i + c]!;
  return { image: { width, height, channels, data }, depth: png.depth };
}

/** Encodes an image (0–255 values, rounded and clipped) as an 8-bit PNG of the matching colour type. */
export function encodePng(img: PixelImage): Buffer {
  const { width, height, channels, data } = img;
  const png = new pngjs.PNG({ width, height });
  const n = width * height;
  const px = (i: number) => Math.max(0, Math.min(255, Math.round(Number(data[i]))));
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    if (channels === 1) png.data[o] = png.data[o + 1] = png.data[o + 2] = px(i);
    else for (let c = 0; c < 3; c++) png.data[o + c] = px(i * channels + c);
    png.data[o + 3] = channels === 4 ? px(i * 4 + 3) : 255;
  }
  return pngjs.PNG.sync.write(png, { colorType: channels === 1 ? 0 : channels === 3 ? 2 : 6, inputColorType: 6, bitDepth: 8 });
}

/** Writes an image as a PNG atomically. */
export function writePngImage(path: string, img: PixelImage, what = '--out'): void {
  writeFileAtomic(path, encodePng(img), what);
}
