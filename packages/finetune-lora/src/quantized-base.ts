import type { Tensor } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import type { QuantizedLinear } from '@nutshell/quantize';

/**
 * Whether `m` is one of @nutshell/quantize's linear layers (Nf4Linear, QuantizedLinear). Checked by
 * shape rather than instanceof so that plain-LoRA bundles do not pull in quantize's codecs.
 */
export function isQuantizedLinear(m: Module): m is QuantizedLinear {
  const q = m as unknown as Partial<QuantizedLinear>;
  return typeof q.dequantizeWeight === 'function' && q.packedWeight?.shape.length === 2 && typeof q.inFeatures === 'number';
}

/**
 * A new layer like `q` (same class, scheme, blocks, activation mode) holding `w` [out, in]: quantize
 * keeps packed weights read-only, so merging into a 4-bit base swaps the layer (lossy).
 */
export function requantized(q: QuantizedLinear, w: Tensor): QuantizedLinear {
  const { scheme, groupSize, symmetric, doubleQuant } = q.packedWeight.info;
  const ctor = q.constructor as typeof QuantizedLinear;
  const next = ctor.fromWeight(w, q.bias, { scheme, groupSize, symmetric, doubleQuant }, { activation: q.activation });
  if (next.bias && q.bias) next.bias.trainable = q.bias.trainable;
  return next;
}
