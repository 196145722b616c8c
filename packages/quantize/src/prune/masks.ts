import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Conv2d, Linear, Module } from '@nutshell/nn';
import { matches, type NamePattern } from '../model/recipe.js';

/**
 * Binary masks over weights (1 = keep). `apply()` zeroes the pruned weights; call it after every
 * optimizer step (or pass `callback()` to an nn Trainer) so pruned weights stay zero while fine-tuning.
 */
export class PruneMasks {
  constructor(readonly masks: Map<string, { param: Variable; mask: Tensor }>) {}

  apply(): void {
    tf.tidy(() => {
      for (const { param, mask } of this.masks.values()) param.assign(tf.mul(param, mask));
    });
  }

  /** Fraction of masked-out weights per layer and overall. */
  sparsity(): { layers: Record<string, number>; total: number } {
    const layers: Record<string, number> = {};
    let zeros = 0;
    let n = 0;
    for (const [name, { mask }] of this.masks) {
      const kept = tf.tidy(() => tf.sum(mask).dataSync()[0]!);
      layers[name] = 1 - kept / mask.size;
      zeros += mask.size - kept;
      n += mask.size;
    }
    return { layers, total: n ? zeros / n : 0 };
  }

  /** An nn Trainer callback that re-applies the masks after each optimizer step. */
  callback(): { onStepEnd(): void } {
    return { onStepEnd: () => this.apply() };
  }

  dispose(): void {
    for (const { mask } of this.masks.values()) mask.dispose();
    this.masks.clear();
  }
}

export interface PruneTarget {
  /** Layers to prune (exact paths or RegExps); default every Linear and Conv2d. */
  include?: NamePattern[];
  exclude?: NamePattern[];
}

/** Linear and Conv2d weights selected by include/exclude, by `<path>.weight`. */
export function prunableWeights(model: Module, target: PruneTarget = {}): [string, Variable][] {
  const out: [string, Variable][] = [];
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Linear) && !(m instanceof Conv2d)) continue;
    if (target.include && !target.include.some((p) => matches(p, path))) continue;
    if (target.exclude?.some((p) => matches(p, path))) continue;
    out.push([path, m.weight]);
  }
  if (out.length === 0) throw new InvalidArgumentError('pruning: no Linear or Conv2d weight selected');
  return out;
}

/** The k-th smallest |w| over values (k ≥ 1), by sorting a copy. */
export function kthSmallestAbs(values: Float32Array, k: number): number {
  const a = Float32Array.from(values, Math.abs).sort();
  return a[Math.min(a.length, Math.max(1, k)) - 1]!;
}

/**
 * Unstructured magnitude pruning: zero the `amount` fraction of smallest-|w| weights, per layer
 * (`scope: 'layer'`) or over all selected layers together (`'global'`). Exactly round(amount·n)
 * weights are pruned (ties broken by position). Returns the masks, already applied.
 */
export function magnitudePrune(model: Module, options: PruneTarget & { amount: number; scope?: 'layer' | 'global' }): PruneMasks {
  const { amount } = options;
  if (!(amount >= 0 && amount < 1)) throw new InvalidArgumentError(`magnitudePrune: amount must be in [0, 1), got ${amount}`);
  const scope = options.scope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') throw new InvalidArgumentError(`magnitudePrune: scope must be layer or global, got ${JSON.stringify(scope)}`);
  const weights = prunableWeights(model, options);
  const values = weights.map(([, w]) => w.dataSync() as Float32Array);
  const masks = new Map<string, { param: Variable; mask: Tensor }>();
  const pruneIndices = (groups: { layer: number; index: number; abs: number }[], count: number) => {
    groups.sort((a, b) => a.abs - b.abs || a.layer - b.layer || a.index - b.index);
    return groups.slice(0, count);
  };
  const keep = values.map((v) => new Float32Array(v.length).fill(1));
  if (scope === 'global') {
    const all = values.flatMap((v, layer) => Array.from(v, (x, index) => ({ layer, index, abs: Math.abs(x) })));
    for (const p of pruneIndices(all, Math.round(amount * all.length))) keep[p.layer]![p.index] = 0;
  } else {
    values.forEach((v, layer) => {
      const items = Array.from(v, (x, index) => ({ layer, index, abs: Math.abs(x) }));
      for (const p of pruneIndices(items, Math.round(amount * v.length))) keep[layer]![p.index] = 0;
    });
  }
  weights.forEach(([path, w], i) => masks.set(path, { param: w, mask: tf.tensor(keep[i]!, w.shape, 'float32') }));
  const pm = new PruneMasks(masks);
  pm.apply();
  return pm;
}

/**
 * N:M semi-structured sparsity (2:4 by default, as sparse tensor cores want): in every run of M
 * consecutive weights along the input dimension (the last axis of a Linear weight; the flattened
 * in·kh·kw of a conv), the M − N smallest |w| are zeroed. The input size must be a multiple of M.
 */
export function nmPrune(model: Module, options: PruneTarget & { n?: number; m?: number } = {}): PruneMasks {
  const n = options.n ?? 2;
  const m = options.m ?? 4;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 0 || n >= m) throw new InvalidArgumentError(`nmPrune: need integers 0 ≤ n < m, got ${n}:${m}`);
  const masks = new Map<string, { param: Variable; mask: Tensor }>();
  for (const [path, w] of prunableWeights(model, options)) {
    const rowLen = w.size / w.shape[0]!;
    if (rowLen % m) throw new InvalidArgumentError(`nmPrune: '${path}' has ${rowLen} inputs per output, not a multiple of ${m}`);
    const v = w.dataSync();
    const keep = new Float32Array(v.length);
    for (let g = 0; g < v.length; g += m) {
      const idx = Array.from({ length: m }, (_, j) => g + j).sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!) || a - b);
      for (let j = 0; j < n; j++) keep[idx[j]!] = 1;
    }
    masks.set(path, { param: w, mask: tf.tensor(keep, w.shape, 'float32') });
  }
  const pm = new PruneMasks(masks);
  pm.apply();
  return pm;
}
