import { InvalidArgumentError, ShapeError, type Tensor } from '@nutshell/core';
import { batchCount, indexBatches, type BatchOptions } from './batching.js';
import type { DatasetCard } from './card.js';
import { DEFAULT_SPLIT_SEED, splitIndices, stratifiedSplitIndices, type SplitFractions } from './split.js';
import { toTensorBatch } from './tensors.js';

export type FeatureArray = Float32Array | Int32Array;
export type LabelArray = Int32Array | Float32Array;

export interface ArrayDatasetInit {
  /** All examples' features, example-major (example i occupies `[i*size, (i+1)*size)`). */
  x: FeatureArray;
  /** Shape of one example, e.g. [28, 28, 1]. */
  shape: readonly number[];
  /** Labels: one int per example (classification) or `yShape`-sized float rows (regression). */
  y?: LabelArray;
  /** Shape of one label; [] (default) for one number per example. */
  yShape?: readonly number[];
  /** Class names; `classes[y]` names the class of an integer label. */
  classes?: readonly string[];
  card?: DatasetCard;
}

/** One batch as plain typed arrays (no tensors). */
export interface ArrayBatch {
  x: FeatureArray;
  /** [batch, ...shape] */
  xShape: number[];
  y?: LabelArray;
  yShape?: number[];
  /** Dataset indices of the batch's examples, in batch order. */
  indices: Int32Array;
}

/** One batch as tensors; the consumer owns them (dispose, or use inside `tidy`). */
export interface TensorBatch {
  x: Tensor;
  y?: Tensor;
}

export interface ArrayBatchOptions extends BatchOptions {
  /** Integer labels become float32 one-hot rows of length `classes.length`. */
  oneHot?: boolean;
}

/** What a trainer or an nn `DataLoader` needs: a size and batches of tensors. */
export interface BatchSource {
  readonly length: number;
  batches(options: ArrayBatchOptions): AsyncIterable<TensorBatch>;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * An in-memory dataset of fixed-shape examples held in typed arrays. Everything is plain data
 * except `batches()` / `toTensors()`, the thin layer that makes tensors.
 */
export class ArrayDataset implements BatchSource, Iterable<{ x: FeatureArray; y: number | LabelArray | undefined }> {
  readonly x: FeatureArray;
  readonly y: LabelArray | undefined;
  readonly shape: readonly number[];
  readonly yShape: readonly number[];
  readonly classes: readonly string[] | undefined;
  readonly card: DatasetCard | undefined;
  readonly length: number;
  /** Numbers per example. */
  readonly exampleSize: number;
  readonly labelSize: number;

  constructor(init: ArrayDatasetInit) {
    const shape = [...init.shape];
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw new ShapeError(`ArrayDataset: example shape must be positive integers, got [${shape.join(', ')}]`);
    const size = product(shape);
    if (init.x.length % size !== 0) {
      throw new ShapeError(`ArrayDataset: x has ${init.x.length} numbers, not a multiple of the example size ${size} (shape [${shape.join(', ')}])`);
    }
    this.x = init.x;
    this.shape = Object.freeze(shape);
    this.exampleSize = size;
    this.length = init.x.length / size;
    this.yShape = Object.freeze([...(init.yShape ?? [])]);
    this.labelSize = product(this.yShape);
    if (init.y !== undefined && init.y.length !== this.length * this.labelSize) {
      throw new ShapeError(`ArrayDataset: y has ${init.y.length} numbers, expected ${this.length} examples × ${this.labelSize}`);
    }
    this.y = init.y;
    this.classes = init.classes ? Object.freeze([...init.classes]) : undefined;
    if (this.classes && this.y instanceof Int32Array) {
      for (let i = 0; i < this.y.length; i++) {
        const c = this.y[i]!;
        if (c < 0 || c >= this.classes.length) throw new InvalidArgumentError(`ArrayDataset: label ${c} at example ${i} is outside 0..${this.classes.length - 1}`);
      }
    }
    this.card = init.card;
  }

  /** Example i as views into the dataset's arrays (do not write to them). */
  example(i: number): { x: FeatureArray; y: number | LabelArray | undefined } {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new InvalidArgumentError(`ArrayDataset: index ${i} out of range 0..${this.length - 1}`);
    const x = this.x.subarray(i * this.exampleSize, (i + 1) * this.exampleSize);
    if (!this.y) return { x, y: undefined };
    return { x, y: this.labelSize === 1 && this.yShape.length === 0 ? this.y[i]! : this.y.subarray(i * this.labelSize, (i + 1) * this.labelSize) };
  }

  /** Map-style access (the `Dataset` contract of nn's DataLoader); same as `example(i)`. */
  get(i: number): { x: FeatureArray; y: number | LabelArray | undefined } {
    return this.example(i);
  }

  /**
   * A collate function for map-style loaders (nn `DataLoader`): turns samples from `get(i)` into one
   * `{ x, y }` tensor batch. `collate` is the default one, usable unbound.
   */
  collator(options: { oneHot?: boolean } = {}): (samples: { x: FeatureArray; y: number | LabelArray | undefined }[]) => TensorBatch {
    const oneHot = options.oneHot ?? false;
    if (oneHot && !(this.y instanceof Int32Array && this.classes)) throw new InvalidArgumentError('collate: oneHot needs integer labels and class names');
    return (samples) => {
      const b = samples.length;
      const x = new (this.x.constructor as Float32ArrayConstructor)(b * this.exampleSize) as FeatureArray;
      samples.forEach((s, k) => {
        if (s.x.length !== this.exampleSize) throw new ShapeError(`collate: sample ${k} has ${s.x.length} numbers, expected ${this.exampleSize}`);
        x.set(s.x, k * this.exampleSize);
      });
      const batch: ArrayBatch = { x, xShape: [b, ...this.shape], indices: new Int32Array(0) };
      if (!this.y) return toTensorBatch(batch);
      if (oneHot) {
        const k = this.classes!.length;
        const y = new Float32Array(b * k);
        samples.forEach((s, r) => (y[r * k + (s.y as number)] = 1));
        return toTensorBatch({ ...batch, y, yShape: [b, k] });
      }
      const y = new (this.y.constructor as Int32ArrayConstructor)(b * this.labelSize) as LabelArray;
      samples.forEach((s, r) => (typeof s.y === 'number' ? (y[r] = s.y) : y.set(s.y!, r * this.labelSize)));
      return toTensorBatch({ ...batch, y, yShape: [b, ...this.yShape] });
    };
  }

  readonly collate = (samples: { x: FeatureArray; y: number | LabelArray | undefined }[]): TensorBatch => this.collator()(samples);

  *[Symbol.iterator]() {
    for (let i = 0; i < this.length; i++) yield this.example(i);
  }

  /** A new dataset with copies of the given examples, in the given order. */
  subset(indices: ArrayLike<number>): ArrayDataset {
    const x = new (this.x.constructor as Float32ArrayConstructor)(indices.length * this.exampleSize) as FeatureArray;
    const y = this.y ? (new (this.y.constructor as Int32ArrayConstructor)(indices.length * this.labelSize) as LabelArray) : undefined;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new InvalidArgumentError(`ArrayDataset.subset: index ${i} out of range 0..${this.length - 1}`);
      x.set(this.x.subarray(i * this.exampleSize, (i + 1) * this.exampleSize), k * this.exampleSize);
      if (y) y.set(this.y!.subarray(i * this.labelSize, (i + 1) * this.labelSize), k * this.labelSize);
    }
    return new ArrayDataset({ x, shape: this.shape, y, yShape: this.yShape, classes: this.classes, card: this.card });
  }

  /** The first n examples. */
  take(n: number): ArrayDataset {
    return this.subset(Int32Array.from({ length: Math.min(n, this.length) }, (_, i) => i));
  }

  /**
   * Deterministic split. With `stratify` (default when labels are integer classes) each class is
   * split on its own so proportions are kept.
   */
  split(fractions: SplitFractions, options: { seed?: number | string; stratify?: boolean } = {}): Record<string, ArrayDataset> {
    const seed = options.seed ?? DEFAULT_SPLIT_SEED;
    const stratify = options.stratify ?? (this.y instanceof Int32Array && this.labelSize === 1);
    if (stratify && !(this.y instanceof Int32Array)) throw new InvalidArgumentError('ArrayDataset.split: stratify needs integer labels');
    const groups = stratify ? stratifiedSplitIndices(this.y!, fractions, seed) : splitIndices(this.length, fractions, seed);
    return Object.fromEntries(Object.entries(groups).map(([name, idx]) => [name, this.subset(idx)]));
  }

  /** Examples per integer label. */
  labelCounts(): number[] {
    if (!(this.y instanceof Int32Array)) throw new InvalidArgumentError('ArrayDataset.labelCounts: needs integer labels');
    let k = this.classes?.length ?? 0;
    for (const c of this.y) if (c + 1 > k) k = c + 1;
    const counts = new Array<number>(k).fill(0);
    for (const c of this.y) counts[c]!++;
    return counts;
  }

  numBatches(options: BatchOptions): number {
    return batchCount(this.length, options);
  }

  /** One epoch of batches as plain typed arrays. */
  *batchArrays(options: ArrayBatchOptions): Generator<ArrayBatch> {
    if (options.oneHot && !(this.y instanceof Int32Array && this.classes)) {
      throw new InvalidArgumentError('batches: oneHot needs integer labels and class names');
    }
    for (const indices of indexBatches(this.length, options)) yield this.gather(indices, options.oneHot ?? false);
  }

  /** One epoch of `{ x, y }` tensor batches; dispose each batch when done with it. */
  async *batches(options: ArrayBatchOptions): AsyncGenerator<TensorBatch> {
    for (const batch of this.batchArrays(options)) yield toTensorBatch(batch);
  }

  /** The whole dataset as one tensor batch (x: [n, ...shape]). */
  toTensors(options: { oneHot?: boolean } = {}): TensorBatch {
    return toTensorBatch(this.gather(Int32Array.from({ length: this.length }, (_, i) => i), options.oneHot ?? false));
  }

  private gather(indices: Int32Array, oneHot: boolean): ArrayBatch {
    const b = indices.length;
    const x = new (this.x.constructor as Float32ArrayConstructor)(b * this.exampleSize) as FeatureArray;
    for (let k = 0; k < b; k++) {
      const i = indices[k]!;
      x.set(this.x.subarray(i * this.exampleSize, (i + 1) * this.exampleSize), k * this.exampleSize);
    }
    const batch: ArrayBatch = { x, xShape: [b, ...this.shape], indices: Int32Array.from(indices) };
    if (!this.y) return batch;
    if (oneHot) {
      const k = this.classes!.length;
      const y = new Float32Array(b * k);
      for (let r = 0; r < b; r++) y[r * k + this.y[indices[r]!]!] = 1;
      return { ...batch, y, yShape: [b, k] };
    }
    const y = new (this.y.constructor as Int32ArrayConstructor)(b * this.labelSize) as LabelArray;
    for (let k = 0; k < b; k++) {
      const i = indices[k]!;
      y.set(this.y.subarray(i * this.labelSize, (i + 1) * this.labelSize), k * this.labelSize);
    }
    return { ...batch, y, yShape: [b, ...this.yShape] };
  }
}
