import { InvalidArgumentError } from '@nutshell/core';
import { indexBatches, type BatchOptions } from './batching.js';
import type { DatasetCard } from './card.js';
import { DEFAULT_SPLIT_SEED, hashSplitIndices, splitIndices, type SplitFractions } from './split.js';

/**
 * An in-memory list of records (text, JSON objects, parsed rows). Text needs a tokenizer before it
 * becomes tensors, so batches here are plain arrays of records.
 */
export class RecordDataset<T> implements Iterable<T> {
  readonly records: readonly T[];
  readonly card: DatasetCard | undefined;

  constructor(records: readonly T[], card?: DatasetCard) {
    this.records = records;
    this.card = card;
  }

  get length(): number {
    return this.records.length;
  }

  get(i: number): T {
    if (!Number.isInteger(i) || i < 0 || i >= this.records.length) throw new InvalidArgumentError(`RecordDataset: index ${i} out of range 0..${this.records.length - 1}`);
    return this.records[i]!;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.records[Symbol.iterator]();
  }

  toArray(): T[] {
    return [...this.records];
  }

  filter(keep: (record: T, index: number) => boolean): RecordDataset<T> {
    return new RecordDataset(this.records.filter(keep), this.card);
  }

  map<U>(fn: (record: T, index: number) => U): RecordDataset<U> {
    return new RecordDataset(this.records.map(fn));
  }

  subset(indices: ArrayLike<number>): RecordDataset<T> {
    return new RecordDataset(Array.from(indices, (i) => this.get(i)), this.card);
  }

  /**
   * Deterministic split. With `key`, records are assigned by a hash of their key (records sharing a
   * key never straddle splits, and the split survives reordering); otherwise by a seeded permutation.
   */
  split(fractions: SplitFractions, options: { seed?: number | string; key?: (record: T) => string } = {}): Record<string, RecordDataset<T>> {
    const seed = options.seed ?? DEFAULT_SPLIT_SEED;
    const key = options.key;
    const groups = key
      ? hashSplitIndices(this.records.length, (i) => key(this.records[i]!), fractions, seed)
      : splitIndices(this.records.length, fractions, seed);
    return Object.fromEntries(Object.entries(groups).map(([name, idx]) => [name, this.subset(idx)]));
  }

  /** One epoch of record batches. */
  *batches(options: BatchOptions): Generator<T[]> {
    for (const idx of indexBatches(this.records.length, options)) yield Array.from(idx, (i) => this.records[i]!);
  }
}
