import { tensor } from '@nutshell/core';
import type { ArrayBatch, TensorBatch } from './array-dataset.js';

/**
 * The only place this package makes tensors: one tensor per array, no intermediates, so nothing
 * can leak. The caller owns the result.
 */
export function toTensorBatch(batch: ArrayBatch): TensorBatch {
  const dtype = (a: Float32Array | Int32Array) => (a instanceof Int32Array ? 'int32' : 'float32');
  const x = tensor(batch.x, batch.xShape, dtype(batch.x));
  if (!batch.y) return { x };
  try {
    return { x, y: tensor(batch.y, batch.yShape!, dtype(batch.y)) };
  } catch (e) {
    x.dispose();
    throw e;
  }
}
