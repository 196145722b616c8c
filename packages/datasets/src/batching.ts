import { InvalidArgumentError, Rng, rngFor } from '@nutshell/core';

/** How to walk a dataset in batches. */
export interface BatchOptions {
  batchSize: number;
  /** Visit examples in a seeded random order (default false: index order). */
  shuffle?: boolean;
  /** Seed or `Rng` for the shuffle; without one the shuffle uses core's default stream (`setSeed`). */
  seed?: number | string | Rng;
  /** Epoch number: with a fixed seed each epoch gets its own, reproducible order. */
  epoch?: number;
  /** Drop a last batch smaller than `batchSize` (default false). */
  dropLast?: boolean;
}

export function checkBatchOptions(options: BatchOptions): void {
  if (!options || !Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new InvalidArgumentError(`batches: batchSize must be a positive integer, got ${String(options?.batchSize)}`);
  }
}

/** The visiting order for one epoch. */
export function epochOrder(n: number, options: BatchOptions): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!options.shuffle) return order;
  const base = options.seed instanceof Rng ? options.seed : options.seed === undefined ? rngFor() : new Rng(options.seed);
  const rng = options.epoch === undefined ? base : base.fork(`epoch:${options.epoch}`);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Number of batches one epoch yields. */
export function batchCount(n: number, options: BatchOptions): number {
  checkBatchOptions(options);
  return options.dropLast ? Math.floor(n / options.batchSize) : Math.ceil(n / options.batchSize);
}

/** Index groups of one epoch: the order cut into batches. */
export function* indexBatches(n: number, options: BatchOptions): Generator<Int32Array> {
  checkBatchOptions(options);
  const order = epochOrder(n, options);
  const count = batchCount(n, options);
  for (let b = 0; b < count; b++) yield order.subarray(b * options.batchSize, Math.min(n, (b + 1) * options.batchSize));
}
