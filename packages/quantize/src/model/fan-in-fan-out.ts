import { tf, type Tensor } from '@nutshell/core';
import type { Module } from '@nutshell/nn';

/**
 * A linear layer whose weight is stored [in, out] (y = x·W + b), e.g. GPT-2's `Conv1D`, flagged as
 * PEFT does with `fanInFanOut === true`. Recognised by shape and flag so quantize needs no runtime
 * dependency on the package that defines it.
 */
export interface FanInFanOutLayer extends Module {
  readonly fanInFanOut: true;
  /** [in, out]. */
  readonly weight: Tensor;
  /** [out], or null / absent. */
  readonly bias?: Tensor | null;
}

const isTensor = (t: unknown): t is Tensor =>
  typeof t === 'object' && t !== null && Array.isArray((t as Tensor).shape) && typeof (t as Tensor).dataSync === 'function';

export function isFanInFanOutLayer(m: unknown): m is FanInFanOutLayer {
  const x = m as Partial<FanInFanOutLayer> | null;
  if (!x || typeof x !== 'object' || x.fanInFanOut !== true || !isTensor(x.weight) || x.weight.rank !== 2) return false;
  const b = x.bias;
  return b === undefined || b === null || (isTensor(b) && b.rank === 1 && b.shape[0] === x.weight.shape[1]);
}

/** The layer's weight as [out, in] (the orientation QuantizedLinear packs); caller disposes. */
export function fanInFanOutWeightOutIn(m: FanInFanOutLayer): Tensor {
  return tf.transpose(m.weight);
}
