import { InvalidArgumentError, ShapeError, type Tensor } from '@nutshell/core';
import pngjs from 'pngjs';

export interface GridOptions {
  /** Columns (default ⌈√N⌉). */
  cols?: number;
  /** Value range mapped to 0…255 (default [-1, 1]). */
  range?: [number, number];
  /** Pixels between tiles (default 2). */
  padding?: number;
}

/** RGBA pixels of an N×H×W×C tensor (C = 1 or 3) tiled into a grid. */
export function gridPixels(images: Tensor, options: GridOptions = {}): { width: number; height: number; data: Uint8Array } {
  if (images.rank !== 4 || (images.shape[3] !== 1 && images.shape[3] !== 3)) {
    throw new ShapeError(`imageGrid: expected images [N, H, W, 1 or 3], got [${images.shape.join(', ')}]`);
  }
  const [N, H, W, C] = images.shape as [number, number, number, number];
  const cols = options.cols ?? Math.ceil(Math.sqrt(N));
  if (!Number.isInteger(cols) || cols < 1) throw new InvalidArgumentError(`imageGrid: cols must be a positive integer, got ${cols}`);
  const rows = Math.ceil(N / cols);
  const pad = options.padding ?? 2;
  const [lo, hi] = options.range ?? [-1, 1];
  const width = cols * W + (cols + 1) * pad;
  const height = rows * H + (rows + 1) * pad;
  const data = new Uint8Array(width * height * 4).fill(255);
  const src = images.dataSync();
  for (let n = 0; n < N; n++) {
    const ox = pad + (n % cols) * (W + pad);
    const oy = pad + Math.floor(n / cols) * (H + pad);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = ((oy + y) * width + ox + x) * 4;
        for (let k = 0; k < 3; k++) {
          const v = src[((n * H + y) * W + x) * C + (C === 1 ? 0 : k)]!;
          data[o + k] = Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
        }
        data[o + 3] = 255;
      }
    }
  }
  return { width, height, data };
}

/** Encodes images as a PNG grid (bytes). */
export function imageGrid(images: Tensor, options: GridOptions = {}): Uint8Array {
  const { width, height, data } = gridPixels(images, options);
  const png = new pngjs.PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(pngjs.PNG.sync.write(png));
}

/**
 * A denoising-trajectory strip: one row per sample, one column per snapshot (e.g. the x̂₀ list a
 * pipeline returns with trajectoryEvery). Snapshots are [N, H, W, C] each; `maxRows` samples are shown.
 */
export function trajectoryStrip(snapshots: Tensor[], options: GridOptions & { maxRows?: number } = {}): Uint8Array {
  if (snapshots.length === 0) throw new InvalidArgumentError('trajectoryStrip: no snapshots');
  const [N, H, W, C] = snapshots[0]!.shape as [number, number, number, number];
  const rows = Math.min(N, options.maxRows ?? N);
  const cols = snapshots.length;
  const cells = new Float32Array(rows * cols * H * W * C);
  const size = H * W * C;
  snapshots.forEach((s, j) => {
    const d = s.dataSync();
    for (let r = 0; r < rows; r++) cells.set(d.subarray(r * size, (r + 1) * size), (r * cols + j) * size);
  });
  const fake = { rank: 4, shape: [rows * cols, H, W, C], dataSync: () => cells } as unknown as Tensor;
  return imageGrid(fake, { ...options, cols });
}

/** A scatter plot of 2-D points as a PNG (for the toy models): black dots on white, range ±extent. */
export function scatterPng(points: Tensor, options: { size?: number; extent?: number } = {}): Uint8Array {
  if (points.rank !== 2 || points.shape[1] !== 2) throw new ShapeError(`scatterPng: expected points [N, 2], got [${points.shape.join(', ')}]`);
  const size = options.size ?? 256;
  const extent = options.extent ?? 4;
  const png = new pngjs.PNG({ width: size, height: size });
  png.data.fill(255);
  const d = points.dataSync();
  for (let i = 0; i < d.length; i += 2) {
    const x = Math.round(((d[i]! + extent) / (2 * extent)) * (size - 1));
    const y = Math.round(((extent - d[i + 1]!) / (2 * extent)) * (size - 1));
    if (x < 0 || y < 0 || x >= size || y >= size) continue;
    const o = (y * size + x) * 4;
    png.data[o] = png.data[o + 1] = png.data[o + 2] = 0;
  }
  return new Uint8Array(pngjs.PNG.sync.write(png));
}
