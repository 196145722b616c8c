import { InvalidArgumentError, ShapeError, describe, tf, type MetricResult, type Tensor } from '@nutshell/core';
import { loadSafetensorsInto } from '@nutshell/nn';
import { fid, type FidOptions } from '../image/fid.js';
import { inceptionScore } from '../image/inception-score.js';
import type { Matrix } from '../linalg/matrix.js';
import type { FeatureExtractor } from './feature-extractor.js';
import { MNIST_FEATURE_DIM, MNIST_MEAN, MNIST_STD, MnistFeatureNet } from './mnist-net.js';

/**
 * MNIST-sized grayscale images: a tensor [N, 28, 28], [N, 28, 28, 1] or [N, 784]; a flat array of
 * N·784 values; or `{ data, count }`. Pixel values in `range` (default [0, 1]).
 */
export type MnistImages = Tensor | ArrayLike<number> | { data: ArrayLike<number>; count?: number };

export interface MnistExtractorOptions {
  /** safetensors bytes of a MnistFeatureNet; default: the shipped `weights/mnist-features.safetensors`. */
  weights?: Uint8Array;
  /** Pixel range of the images you pass (e.g. [-1, 1] for GAN/diffusion outputs); default [0, 1]. */
  range?: readonly [number, number];
  /** Images per forward pass (default 500). */
  batchSize?: number;
}

export const MNIST_WEIGHTS_FILE = 'mnist-features.safetensors';

/** Reads the shipped weights (Node): `<package>/weights/mnist-features.safetensors`. */
export async function readShippedMnistWeights(): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  return new Uint8Array(await readFile(new URL(`../../weights/${MNIST_WEIGHTS_FILE}`, import.meta.url)));
}

function flatPixels(images: MnistImages): { data: ArrayLike<number>; count: number } {
  let data: ArrayLike<number>;
  if (images && typeof images === 'object' && 'dataSync' in images && 'shape' in images) {
    const s = images.shape;
    const ok = (s.length === 2 && s[1] === 784) || (s.length === 3 && s[1] === 28 && s[2] === 28) || (s.length === 4 && s[1] === 28 && s[2] === 28 && s[3] === 1);
    if (!ok) throw new ShapeError(`mnist extractor: expected images [N, 28, 28], [N, 28, 28, 1] or [N, 784], got shape [${s.join(', ')}]`);
    data = images.dataSync();
  } else if (images && typeof images === 'object' && 'data' in images && !('length' in images)) {
    data = images.data;
    if (images.count !== undefined && images.count * 784 !== data.length) throw new ShapeError(`mnist extractor: ${data.length} values are not ${images.count} images of 28×28`);
  } else if (images && typeof (images as ArrayLike<number>).length === 'number') {
    data = images as ArrayLike<number>;
  } else {
    throw new InvalidArgumentError(`mnist extractor: expected a tensor, a flat array of N·784 pixels or {data, count}, got ${describe(images)}`);
  }
  if (data.length === 0 || data.length % 784 !== 0) throw new ShapeError(`mnist extractor: ${data.length} values are not a whole number of 28×28 images`);
  return { data, count: data.length / 784 };
}

/**
 * The shipped MNIST network as a feature extractor: penultimate-layer features (128-d, after ReLU)
 * and softmax class probabilities, computed in float32 by the active backend, returned as float64.
 */
export class MnistFeatureExtractor implements FeatureExtractor<MnistImages> {
  readonly name = 'mnist-features';
  readonly dim = MNIST_FEATURE_DIM;
  readonly preprocessing: string;
  private readonly scale: number;
  private readonly shift: number;
  private readonly batchSize: number;

  constructor(readonly net: MnistFeatureNet, options: Omit<MnistExtractorOptions, 'weights'> = {}) {
    const [lo, hi] = options.range ?? [0, 1];
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new InvalidArgumentError(`mnist extractor: range must be [lo, hi] with lo < hi, got ${JSON.stringify(options.range)}`);
    this.batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new InvalidArgumentError(`mnist extractor: batchSize must be a positive integer, got ${options.batchSize}`);
    // x in [lo, hi] → [0, 1] → (x − mean) / std, folded into one affine map.
    this.scale = 1 / (hi - lo) / MNIST_STD;
    this.shift = (-lo / (hi - lo) - MNIST_MEAN) / MNIST_STD;
    this.preprocessing = `28×28 grayscale, no resize; [${lo}, ${hi}] → [0, 1] → (x − ${MNIST_MEAN}) / ${MNIST_STD}`;
    net.eval();
  }

  private run(images: MnistImages, head: (x: Tensor) => Tensor, width: number): Matrix {
    const { data, count } = flatPixels(images);
    const out = new Float64Array(count * width);
    const buf = new Float32Array(Math.min(count, this.batchSize) * 784);
    for (let start = 0; start < count; start += this.batchSize) {
      const n = Math.min(this.batchSize, count - start);
      for (let i = 0; i < n * 784; i++) {
        const v = data[start * 784 + i]!;
        if (!Number.isFinite(v)) throw new InvalidArgumentError(`mnist extractor: pixel ${i % 784} of image ${start + Math.floor(i / 784)} is ${v}`);
        buf[i] = v * this.scale + this.shift;
      }
      const t = tf.tidy(() => head(tf.tensor4d(buf.subarray(0, n * 784), [n, 28, 28, 1])));
      try {
        out.set(t.dataSync(), start * width);
      } finally {
        t.dispose();
      }
    }
    return { rows: count, cols: width, data: out };
  }

  features(images: MnistImages): Matrix {
    return this.run(images, (x) => this.net.features(x), this.dim);
  }

  logits(images: MnistImages): Matrix {
    return this.run(images, (x) => this.net.forward(x), 10);
  }

  probabilities(images: MnistImages): Matrix {
    return this.run(images, (x) => tf.softmax(this.net.forward(x)), 10);
  }

  /** Argmax class per image. */
  predict(images: MnistImages): Int32Array {
    const p = this.logits(images);
    const out = new Int32Array(p.rows);
    for (let i = 0; i < p.rows; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (p.data[i * 10 + c]! > p.data[i * 10 + best]!) best = c;
      out[i] = best;
    }
    return out;
  }

  dispose(): void {
    this.net.dispose();
  }
}

/** Loads the shipped (or given) MNIST network weights into an extractor. Call `dispose()` when done. */
export async function mnistFeatureExtractor(options: MnistExtractorOptions = {}): Promise<MnistFeatureExtractor> {
  const bytes = options.weights ?? (await readShippedMnistWeights());
  const net = new MnistFeatureNet();
  try {
    loadSafetensorsInto(net, bytes, { strict: true });
  } catch (e) {
    net.dispose();
    throw e;
  }
  return new MnistFeatureExtractor(net, options);
}

export interface MnistFidOptions extends MnistExtractorOptions, FidOptions {
  /** Reuse an extractor (not disposed here) instead of loading the weights per call. */
  extractor?: MnistFeatureExtractor;
}

async function withExtractor<T>(options: MnistFidOptions, fn: (e: MnistFeatureExtractor) => T): Promise<T> {
  const e = options.extractor ?? (await mnistFeatureExtractor(options));
  try {
    return fn(e);
  } finally {
    if (!options.extractor) e.dispose();
  }
}

/** FID between two sets of MNIST-like images, on the shipped network's 128-d features. */
export async function mnistFid(real: MnistImages, fake: MnistImages, options: MnistFidOptions = {}): Promise<MetricResult> {
  return withExtractor(options, (e) => {
    const r = fid(e.features(real), e.features(fake), options);
    return { ...r, name: 'mnist-fid', signature: `mnist-fid|${e.name}|${r.signature}`, details: { ...r.details, extractor: e.name, preprocessing: e.preprocessing } };
  });
}

/** Inception Score of MNIST-like images with the shipped classifier (≤ 10; real digits score near 10). */
export async function mnistIs(images: MnistImages, options: Omit<MnistFidOptions, keyof FidOptions> & { splits?: number } = {}): Promise<MetricResult> {
  return withExtractor(options, (e) => {
    const r = inceptionScore(e.probabilities(images), { splits: options.splits ?? 1 });
    return { ...r, name: 'mnist-is', signature: `mnist-is|${e.name}|splits:${options.splits ?? 1}`, details: { ...r.details, extractor: e.name } };
  });
}
