import type { Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import { conv2dSampler } from './conv2d.js';
import { embeddingSampler } from './embedding.js';
import { linearSampler } from './linear.js';
import { groupNormSampler, layerNormSampler, rmsNormSampler } from './norm.js';
import type { GradSampler } from './types.js';

/** Layer kinds with vectorized per-example gradients, tried in order. */
export const GRAD_SAMPLERS: readonly GradSampler<any>[] = [linearSampler, conv2dSampler, embeddingSampler, layerNormSampler, groupNormSampler, rmsNormSampler]; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface CoveredLayer {
  layer: Module;
  sampler: GradSampler;
  /** The layer's parameters that are trainable, aligned flags over `sampler.parameters(layer)`. */
  trainable: boolean[];
}

/**
 * The layers with a grad sampler that together own every trainable parameter (a parameter may be
 * shared by several, as with tied embeddings: its per-example gradient is then the sum of their
 * contributions), or null when some trainable parameter lives elsewhere (then only the loop works).
 */
export function layerCover(model: Module, params: readonly Variable[]): CoveredLayer[] | null {
  const wanted = new Set(params);
  const covered = new Set<Variable>();
  const out: CoveredLayer[] = [];
  for (const layer of model.modules()) {
    const sampler = GRAD_SAMPLERS.find((s) => s.matches(layer));
    if (!sampler) continue;
    const trainable = sampler.parameters(layer).map((p) => wanted.has(p));
    if (!trainable.some(Boolean)) continue;
    sampler.parameters(layer).forEach((p) => wanted.has(p) && covered.add(p));
    out.push({ layer, sampler, trainable });
  }
  return params.every((p) => covered.has(p)) ? out : null;
}
