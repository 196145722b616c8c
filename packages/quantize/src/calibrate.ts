import { InvalidArgumentError } from '@nutshell/core';
import type { TensorLike } from './input.js';
import type { ObservedQParams, Observer } from './observers.js';

export interface CalibrateOptions {
  /** Stop after this many batches (default: all). */
  maxBatches?: number;
  /** Called after each batch with its index (for progress bars). */
  onBatch?: (index: number) => void;
}

/**
 * Feeds every batch of a data source to the observer(s) and returns their qparams. The source can be
 * any iterable or async iterable of tensors or arrays (a data loader, a generator, an array). Tensors
 * are only read, never disposed: the caller owns them.
 */
export async function calibrate<O extends Observer | readonly Observer[]>(
  observers: O,
  data: Iterable<TensorLike> | AsyncIterable<TensorLike>,
  options: CalibrateOptions = {},
): Promise<O extends readonly Observer[] ? ObservedQParams[] : ObservedQParams> {
  const list: readonly Observer[] = Array.isArray(observers) ? observers : [observers as Observer];
  if (list.length === 0) throw new InvalidArgumentError('calibrate: give at least one observer');
  const max = options.maxBatches ?? Infinity;
  if (!(max >= 1)) throw new InvalidArgumentError(`calibrate: maxBatches must be ≥ 1, got ${max}`);
  if (data == null || (typeof (data as AsyncIterable<TensorLike>)[Symbol.asyncIterator] !== 'function' && typeof (data as Iterable<TensorLike>)[Symbol.iterator] !== 'function')) {
    throw new InvalidArgumentError('calibrate: data must be an iterable or async iterable of tensors');
  }
  let index = 0;
  for await (const batch of data as AsyncIterable<TensorLike>) {
    for (const o of list) o.observe(batch);
    options.onBatch?.(index);
    if (++index >= max) break;
  }
  if (index === 0) throw new InvalidArgumentError('calibrate: the data source yielded no batches');
  const results = list.map((o) => o.qparams());
  return (Array.isArray(observers) ? results : results[0]) as O extends readonly Observer[] ? ObservedQParams[] : ObservedQParams;
}
