import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Linear, type Module } from '@nutshell/nn';
import { Nf4Linear } from '@nutshell/quantize';

/**
 * QLoRA's frozen base layer is @nutshell/quantize's `Nf4Linear` (packed NF4, double-quantized
 * scales, dequantized on the fly); the old name stays as an alias.
 */
export { Nf4Linear as NF4Linear };

export interface NF4Options {
  /** Values per absmax block (bitsandbytes and QLoRA: 64). */
  blockSize?: number;
  /** Quantize the block scales again (QLoRA's double quantization). Default true. */
  doubleQuant?: boolean;
}

type LinearLike = Module & { weight: Tensor; bias?: Tensor | null; fanInFanOut?: boolean };

/** Quantizes a Linear or a GPT-2 Conv1D (weight [in, out], transposed here) into a new Nf4Linear. */
export function toNf4Linear(m: LinearLike, options: NF4Options = {}): Nf4Linear {
  if (!(m instanceof Linear) && m.weight?.rank !== 2) throw new InvalidArgumentError(`toNf4Linear: expected a Linear-like module, got ${m.constructor.name}`);
  const config = { groupSize: options.blockSize ?? 64, doubleQuant: options.doubleQuant ?? true };
  if (m instanceof Linear) return Nf4Linear.fromLinear(m, config);
  const w = m.fanInFanOut ? tf.transpose(m.weight) : m.weight;
  try {
    return Nf4Linear.fromWeight(w, m.bias ?? null, config);
  } finally {
    if (w !== m.weight) w.dispose();
  }
}
