import { tf } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import { Conv1D, GPT } from '@nutshell/transformer';

/**
 * Small helpers between transformer's GPT and the packages that rewrite module trees: quantize's
 * `quantizeModel` knows nn Linear/Conv2d only, so the demo quantizes the GPT's Conv1D weights
 * itself (transposed to [out, in]) and swaps them in with `setModule`.
 */

/** An independent copy of a GPT (same config, weights copied). */
export function cloneGpt(model: GPT): GPT {
  const copy = new GPT(model.config, { seed: 0 });
  copy.loadStateDict(model.stateDict());
  copy.eval();
  return copy;
}

/** Dotted paths of every Conv1D (attention and MLP projections). */
export function conv1dPaths(model: Module): string[] {
  return model.namedModules().filter(([, m]) => m instanceof Conv1D).map(([p]) => p);
}

/** A Conv1D's weight as [out, in] (the orientation nn Linear and quantize use); caller disposes. */
export function conv1dWeightOutIn(conv: Conv1D): tf.Tensor {
  return tf.transpose(conv.weight);
}
