import { InvalidArgumentError, Rng, ShapeError, assertPositiveInt, tf, type Tensor } from '@nutshell/core';

/** A map-style dataset: random access by index (like torch.utils.data.Dataset). */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T;
}

type TensorData = Tensor | Tensor[] | Record<string, Tensor>;

export interface DataLoaderOptions<T, B> {
  batchSize: number;
  /** Reshuffle every epoch with a permutation derived from (seed, epoch). */
  shuffle?: boolean;
  seed?: number | string;
  /** Drop the last incomplete batch. */
  dropLast?: boolean;
  /** Builds a batch from samples of a Dataset (default: stacks tensors or tensors made from numbers). */
  collate?: (samples: T[]) => B;
}

/** Batch structure of tensor data: the same shape (tensor, array or record) with batched tensors. */
export type TensorBatch<D> = D extends Tensor ? Tensor : D extends Tensor[] ? Tensor[] : { [K in keyof D]: Tensor };

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'dataId' in x;
}

function defaultCollate(samples: unknown[]): unknown {
  const first = samples[0];
  if (isTensor(first)) return tf.stack(samples as Tensor[]);
  if (typeof first === 'number') return tf.tensor(samples as number[]);
  if (Array.isArray(first) && (first.length === 0 || typeof first[0] === 'number')) return tf.tensor(samples as number[][]);
  if (Array.isArray(first)) return first.map((_, i) => defaultCollate(samples.map((s) => (s as unknown[])[i])));
  if (first && typeof first === 'object') {
    return Object.fromEntries(Object.keys(first).map((k) => [k, defaultCollate(samples.map((s) => (s as Record<string, unknown>)[k]))]));
  }
  throw new InvalidArgumentError(`DataLoader: cannot collate samples like ${String(first)}; pass a collate function`);
}

/**
 * Batches a dataset. Tensor data (a tensor, an array or a record of tensors sharing the first
 * dim) is sliced with gather; a Dataset is collated. Each epoch's order depends only on
 * (seed, epoch), so a resumed run sees the same batches. The caller owns (disposes) each batch.
 */
export class DataLoader<T = unknown, B = unknown> {
  readonly batchSize: number;
  readonly numSamples: number;
  /** The epoch the next `for … of` will iterate. */
  epoch = 0;

  constructor(readonly data: Dataset<T> | TensorData, readonly options: DataLoaderOptions<T, B>) {
    assertPositiveInt('DataLoader batchSize', options.batchSize);
    this.batchSize = options.batchSize;
    if (isTensor(data) || Array.isArray(data) || !('get' in (data as object))) {
      const list = isTensor(data) ? [data] : Array.isArray(data) ? data : Object.values(data as Record<string, Tensor>);
      if (list.length === 0) throw new InvalidArgumentError('DataLoader: no tensors given');
      const n = list[0]!.shape[0];
      for (const t of list) {
        if (!isTensor(t) || t.rank < 1) throw new InvalidArgumentError('DataLoader: tensor data must be tensors of rank ≥ 1');
        if (t.shape[0] !== n) throw new ShapeError(`DataLoader: all tensors must share the first dim; expected ${n}, got shape [${t.shape.join(', ')}]`);
      }
      this.numSamples = n!;
    } else {
      this.numSamples = (data as Dataset<T>).length;
    }
  }

  /** Batches per epoch. */
  get length(): number {
    return this.options.dropLast ? Math.floor(this.numSamples / this.batchSize) : Math.ceil(this.numSamples / this.batchSize);
  }

  /** Sample order of an epoch. */
  order(epoch: number): number[] {
    const idx = Array.from({ length: this.numSamples }, (_, i) => i);
    return this.options.shuffle ? new Rng(`${this.options.seed ?? 0}/epoch/${epoch}`).shuffle(idx) : idx;
  }

  /** The batches of one epoch, optionally starting at batch `start` (for resuming). */
  *batches(epoch: number, start = 0): Generator<B> {
    const order = this.order(epoch);
    for (let b = start; b < this.length; b++) yield this.makeBatch(order.slice(b * this.batchSize, (b + 1) * this.batchSize));
  }

  [Symbol.iterator](): Iterator<B> {
    return this.batches(this.epoch++);
  }

  private makeBatch(indices: number[]): B {
    const d = this.data;
    if (isTensor(d) || Array.isArray(d) || !('get' in (d as object))) {
      return tf.tidy(() => {
        const idx = tf.tensor1d(indices, 'int32');
        if (isTensor(d)) return tf.gather(d, idx);
        if (Array.isArray(d)) return d.map((t) => tf.gather(t, idx));
        return Object.fromEntries(Object.entries(d as Record<string, Tensor>).map(([k, t]) => [k, tf.gather(t, idx)]));
      }) as unknown as B;
    }
    const samples = indices.map((i) => (d as Dataset<T>).get(i));
    return (this.options.collate ? this.options.collate(samples) : defaultCollate(samples)) as B;
  }
}
