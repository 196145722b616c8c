import { InvalidArgumentError, ShapeError, rngFor, type MetricResult, type Rng, type Tensor } from '@nutshell/core';

/** NHWC images: a rank-4 tensor, or `{ data, shape: [N, H, W, C] }`. */
export type ImageBatch = Tensor | { data: ArrayLike<number>; shape: readonly [number, number, number, number] };

interface Planes {
  n: number;
  c: number;
  h: number;
  w: number;
  /** NCHW float64 planes. */
  data: Float64Array;
}

function readImages(name: string, images: ImageBatch): Planes {
  const shape = images.shape;
  if (shape.length !== 4) throw new ShapeError(`${name}: expected NHWC images [N, H, W, C], got shape [${shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const src = 'dataSync' in images ? images.dataSync() : images.data;
  if (src.length !== n * h * w * c) throw new ShapeError(`${name}: ${src.length} values do not fill [${shape.join(', ')}]`);
  const data = new Float64Array(src.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    const v = src[((b * h + y) * w + x) * c + k]!;
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`${name}: pixel value ${v} at image ${b}`);
    data[((b * c + k) * h + y) * w + x] = v;
  }
  return { n, c, h, w, data };
}

const G = [1, 4, 6, 4, 1].map((v) => v / 16);

/** scipy.ndimage 'mirror' boundary: d c b | a b c d | c b a. */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/** Separable 5×5 binomial filter (ProGAN's / cv2's pyramid kernel) with mirror borders, times `gain`. */
function blur(p: Planes, gain: number): Planes {
  const { n, c, h, w } = p;
  const tmp = new Float64Array(p.data.length);
  const out = new Float64Array(p.data.length);
  for (let pl = 0; pl < n * c; pl++) {
    const o = pl * h * w;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -2; t <= 2; t++) s += G[t + 2]! * p.data[o + y * w + mirror(x + t, w)]!;
      tmp[o + y * w + x] = s;
    }
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -2; t <= 2; t++) s += G[t + 2]! * tmp[o + mirror(y + t, h) * w + x]!;
      out[o + y * w + x] = s * gain;
    }
  }
  return { ...p, data: out };
}

function pyrDown(p: Planes): Planes {
  const b = blur(p, 1);
  const h2 = Math.ceil(p.h / 2);
  const w2 = Math.ceil(p.w / 2);
  const data = new Float64Array(p.n * p.c * h2 * w2);
  for (let pl = 0; pl < p.n * p.c; pl++) for (let y = 0; y < h2; y++) for (let x = 0; x < w2; x++) data[(pl * h2 + y) * w2 + x] = b.data[(pl * p.h + 2 * y) * p.w + 2 * x]!;
  return { ...p, h: h2, w: w2, data };
}

function pyrUp(p: Planes, h: number, w: number): Planes {
  const data = new Float64Array(p.n * p.c * h * w);
  for (let pl = 0; pl < p.n * p.c; pl++) for (let y = 0; y < p.h && 2 * y < h; y++) for (let x = 0; x < p.w && 2 * x < w; x++) data[(pl * h + 2 * y) * w + 2 * x] = p.data[(pl * p.h + y) * p.w + x]!;
  return blur({ ...p, h, w, data }, 4);
}

function laplacianPyramid(p: Planes, levels: number): Planes[] {
  const pyr = [p];
  for (let i = 1; i < levels; i++) {
    const down = pyrDown(pyr.at(-1)!);
    const prev = pyr.at(-1)!;
    const up = pyrUp(down, prev.h, prev.w);
    pyr[pyr.length - 1] = { ...prev, data: prev.data.map((v, k) => v - up.data[k]!) };
    pyr.push(down);
  }
  return pyr;
}

/** 7×7×C patches at seeded random positions, normalized per channel over all patches (ProGAN's finalize_descriptors). */
function descriptors(p: Planes, perImage: number, size: number, rng: Rng): { rows: number; cols: number; data: Float64Array } {
  const half = size >> 1;
  if (p.h < size || p.w < size) throw new ShapeError(`swdPyramid: level ${p.h}×${p.w} is smaller than the ${size}×${size} patch`);
  const cols = p.c * size * size;
  const rows = p.n * perImage;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const img = Math.floor(r / perImage);
    const cx = half + rng.int(p.w - 2 * half);
    const cy = half + rng.int(p.h - 2 * half);
    let k = r * cols;
    for (let ch = 0; ch < p.c; ch++) for (let dy = -half; dy <= half; dy++) for (let dx = -half; dx <= half; dx++) data[k++] = p.data[((img * p.c + ch) * p.h + cy + dy) * p.w + cx + dx]!;
  }
  const per = size * size;
  for (let ch = 0; ch < p.c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < rows; r++) for (let t = 0; t < per; t++) {
      const v = data[r * cols + ch * per + t]!;
      s += v;
      s2 += v * v;
    }
    const count = rows * per;
    const mean = s / count;
    const std = Math.sqrt(Math.max(s2 / count - mean * mean, 0)) || 1;
    for (let r = 0; r < rows; r++) for (let t = 0; t < per; t++) data[r * cols + ch * per + t] = (data[r * cols + ch * per + t]! - mean) / std;
  }
  return { rows, cols, data };
}

function swdEqual(a: { rows: number; cols: number; data: Float64Array }, b: typeof a, repeats: number, dirs: number, rng: Rng): number {
  const d = a.cols;
  const pa = new Float64Array(a.rows);
  const pb = new Float64Array(b.rows);
  const dir = new Float64Array(d);
  let total = 0;
  for (let r = 0; r < repeats * dirs; r++) {
    let norm = 0;
    for (let k = 0; k < d; k++) {
      dir[k] = rng.normal();
      norm += dir[k]! ** 2;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < a.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a.data[i * d + k]! * dir[k]!;
      pa[i] = s / norm;
    }
    for (let i = 0; i < b.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += b.data[i * d + k]! * dir[k]!;
      pb[i] = s / norm;
    }
    pa.sort();
    pb.sort();
    let m = 0;
    for (let i = 0; i < a.rows; i++) m += Math.abs(pa[i]! - pb[i]!);
    total += m / a.rows;
  }
  return total / (repeats * dirs);
}

export interface SwdPyramidOptions {
  /** Patches per image per level (ProGAN: 128). */
  patchesPerImage?: number;
  /** Patch side (ProGAN: 7). */
  patchSize?: number;
  /** Projection repeats × directions per repeat (ProGAN: 4 × 128). */
  repeats?: number;
  directions?: number;
  /** Coarsest level side: levels are made while the side is ≥ this (ProGAN: 16). */
  minResolution?: number;
  seed?: number | string | Rng;
}

/**
 * ProGAN's multi-scale sliced Wasserstein distance (Karras et al. 2018): a Laplacian pyramid per
 * image set (5×5 binomial kernel, mirror borders, as cv2.pyrDown/pyrUp), 7×7 patch descriptors at
 * random positions per level, normalized per channel within each set, then the sliced Wasserstein
 * distance per level ×10³. Value = mean over levels; `details.levels` has each (finest first).
 * Both sets need the same number of images; positions and directions are seeded.
 */
export function swdPyramid(real: ImageBatch, fake: ImageBatch, options: SwdPyramidOptions = {}): MetricResult {
  const a = readImages('swdPyramid: real', real);
  const b = readImages('swdPyramid: fake', fake);
  if (a.n !== b.n || a.h !== b.h || a.w !== b.w || a.c !== b.c) throw new ShapeError(`swdPyramid: image sets differ in shape ([${a.n}, ${a.h}, ${a.w}, ${a.c}] vs [${b.n}, ${b.h}, ${b.w}, ${b.c}])`);
  const minRes = options.minResolution ?? 16;
  const size = options.patchSize ?? 7;
  const perImage = options.patchesPerImage ?? 128;
  const repeats = options.repeats ?? 4;
  const dirs = options.directions ?? 128;
  let levels = 0;
  for (let r = Math.min(a.h, a.w); r >= minRes; r = Math.floor(r / 2)) levels++;
  if (levels === 0) throw new ShapeError(`swdPyramid: images ${a.h}×${a.w} are smaller than minResolution ${minRes}`);
  const rng = rngFor(options.seed ?? 0);
  const pa = laplacianPyramid(a, levels);
  const pb = laplacianPyramid(b, levels);
  const perLevel = pa.map((la, i) => {
    const da = descriptors(la, perImage, size, rng);
    const db = descriptors(pb[i]!, perImage, size, rng);
    return 1e3 * swdEqual(da, db, repeats, dirs, rng);
  });
  return {
    name: 'swd-pyramid', value: perLevel.reduce((s, v) => s + v, 0) / perLevel.length, higherIsBetter: false,
    signature: `swd-pyramid|levels:${levels}|patch:${size}|per-image:${perImage}|dirs:${repeats}x${dirs}`,
    details: { levels: perLevel, resolutions: pa.map((l) => l.h) },
  };
}
