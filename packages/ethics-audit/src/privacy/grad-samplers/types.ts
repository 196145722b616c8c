import { tf, type Tensor, type Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';

/**
 * Per-example gradients of one layer kind from what Opacus' hooks capture: the layer's input and the
 * backpropagated gradient at its output, both batch-major. Every method runs inside the caller's
 * tf.tidy and returns new tensors; results are aligned with `parameters(layer)`.
 */
export interface GradSampler<M extends Module = Module> {
  readonly name: string;
  matches(m: Module): m is M;
  /** The layer's own parameters (trainable or not), in a fixed order. */
  parameters(m: M): Variable[];
  /** Whether one call with these shapes is batch-major for batch size B (else: the loop fallback). */
  accepts(m: M, inputShape: number[], outputShape: number[], B: number): boolean;
  /** Example b's gradient for each parameter: [B, ...param.shape]. */
  perSample(m: M, input: Tensor, backprop: Tensor, B: number): Tensor[];
  /**
   * Σ over parameters of ‖example b's gradient‖², [B], without materialising per-example gradients
   * ("ghost norm"), or null where materialising is cheaper (then the caller uses perSample).
   */
  ghostNormSq?(m: M, input: Tensor, backprop: Tensor, B: number): Tensor | null;
  /** Σ_b w_b · (example b's gradient) per parameter, w of shape [B], without materialising. */
  weightedSum?(m: M, input: Tensor, backprop: Tensor, w: Tensor): Tensor[];
}

/** Opacus' rule for ghost norms over T positions: cheaper than materialising when 2T² ≤ p·d. */
export function ghostIsCheaper(T: number, p: number, d: number): boolean {
  return 2 * T * T <= p * d;
}

/** w [B] reshaped to broadcast against a tensor of the given rank along its first axis. */
export function perExampleWeights(w: Tensor, rank: number): Tensor {
  return tf.reshape(w, [w.shape[0]!, ...Array.from({ length: rank - 1 }, () => 1)]);
}
