import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError, ShapeError } from '@nutshell/core';
import pngjs from 'pngjs';
import { ArrayDataset } from '../array-dataset.js';
import { listFiles } from './text.js';

export type Channels = 1 | 3 | 4;

export interface DecodedImage {
  width: number;
  height: number;
  channels: Channels;
  /** HWC, float32 in [0, 1]. */
  data: Float32Array;
}

/**
 * Decodes a PNG (any bit depth, palette, gray or colour; 16-bit is scaled to 8) with pngjs.
 * channels: 1 = luma (0.299 R + 0.587 G + 0.114 B, as PIL's "L"), 3 = RGB, 4 = RGBA. Alpha is
 * dropped, not composited, for 1 and 3.
 */
export function decodePng(bytes: Uint8Array, options: { channels?: Channels; source?: string } = {}): DecodedImage {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new InvalidArgumentError(`decodePng: channels must be 1, 3 or 4, got ${String(channels)}`);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new FormatError('png', `${options.source ?? 'input'}: ${(e as Error).message}`);
  }
  const { width, height, data: rgba } = png;
  const n = width * height;
  const data = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = rgba[4 * i]!, g = rgba[4 * i + 1]!, b = rgba[4 * i + 2]!;
    if (channels === 1) {
      data[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    } else {
      data[channels * i] = r / 255;
      data[channels * i + 1] = g / 255;
      data[channels * i + 2] = b / 255;
      if (channels === 4) data[4 * i + 3] = rgba[4 * i + 3]! / 255;
    }
  }
  return { width, height, channels, data };
}

export async function loadPng(path: string, options: { channels?: Channels } = {}): Promise<DecodedImage> {
  return decodePng(await readFile(path), { ...options, source: path });
}

/**
 * A folder of PNG images as an ArrayDataset of [height, width, channels] examples. Like torchvision's
 * ImageFolder: subfolders are classes (sorted by name → label ids); PNGs at the top level without any
 * class folders give an unlabeled dataset. All images must have the same size.
 */
export async function loadImageFolder(root: string, options: { channels?: Channels } = {}): Promise<ArrayDataset> {
  const channels = options.channels ?? 3;
  const classDirs = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const files: { path: string; label: number }[] = [];
  if (classDirs.length > 0) {
    for (const [label, name] of classDirs.entries()) {
      for (const path of await listFiles(join(root, name), { extensions: ['.png'] })) files.push({ path, label });
    }
  } else {
    for (const path of await listFiles(root, { extensions: ['.png'], recursive: false })) files.push({ path, label: -1 });
  }
  if (files.length === 0) throw new FormatError('image folder', `${root}: no .png files found`);
  let shape: [number, number, number] | undefined;
  let x = new Float32Array(0);
  for (const [i, f] of files.entries()) {
    const img = await loadPng(f.path, { channels });
    if (!shape) {
      shape = [img.height, img.width, channels];
      x = new Float32Array(files.length * img.data.length);
    } else if (img.height !== shape[0] || img.width !== shape[1]) {
      throw new ShapeError(`loadImageFolder: ${f.path} is ${img.width}×${img.height}, expected ${shape[1]}×${shape[0]} like the first image`);
    }
    x.set(img.data, i * img.data.length);
  }
  if (classDirs.length === 0) return new ArrayDataset({ x, shape: shape! });
  return new ArrayDataset({ x, shape: shape!, y: Int32Array.from(files, (f) => f.label), classes: classDirs });
}
