import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { BatchNorm1d, BatchNorm2d, Conv2d, Linear, Module } from '@nutshell/nn';
import { convGeometry, makeConv2d } from '../model/modules.js';
import { replaceModule } from '../model/quantize-model.js';

export interface ChannelPruneOptions {
  /** Path of the Linear (rows) or Conv2d (filters) whose outputs are pruned. */
  layer: string;
  /** Path of the consumer whose inputs shrink with them: a Linear (directly, or after a Flatten of the conv's output) or a Conv2d. */
  next: string;
  /** Optional BatchNorm1d/2d between the two, shrunk too. */
  norm?: string;
  /** Output channels to keep, or … */
  keep?: number;
  /** … the fraction to remove. */
  amount?: number;
  /** Filter importance (default 'l1', as Li et al. 2017). */
  criterion?: 'l1' | 'l2';
}

const gather = (t: Tensor, idx: number[], axis: number) => tf.tidy(() => tf.gather(t, tf.tensor1d(idx, 'int32'), axis));

/**
 * Structured channel/filter pruning that really shrinks the model: keeps the `keep` output channels
 * of `layer` with the largest L1 (or L2) weight norm, builds a smaller layer, shrinks an optional
 * BatchNorm after it and the input dimension of `next`, and swaps them in place. Returns the kept
 * channel indices (ascending).
 */
export function pruneChannels(model: Module, options: ChannelPruneOptions): { kept: number[]; before: number; after: number } {
  const layer = model.getModule(options.layer);
  const next = model.getModule(options.next);
  if (!(layer instanceof Linear) && !(layer instanceof Conv2d)) throw new InvalidArgumentError(`pruneChannels: '${options.layer}' is a ${layer.constructor.name}, not a Linear or Conv2d`);
  if (!(next instanceof Linear) && !(next instanceof Conv2d)) throw new InvalidArgumentError(`pruneChannels: '${options.next}' is a ${next.constructor.name}, not a Linear or Conv2d`);
  if (layer instanceof Conv2d && layer.groups !== 1) throw new InvalidArgumentError('pruneChannels: grouped convolutions are not supported');
  if (next instanceof Conv2d && next.groups !== 1) throw new InvalidArgumentError('pruneChannels: the next conv must have groups = 1');
  const C = layer instanceof Linear ? layer.outFeatures : layer.outChannels;
  const keep = options.keep ?? (options.amount !== undefined ? C - Math.round(options.amount * C) : NaN);
  if (!Number.isInteger(keep) || keep < 1 || keep > C) throw new InvalidArgumentError(`pruneChannels: keep must be an integer in [1, ${C}] (or amount in [0, 1)), got ${options.keep ?? options.amount}`);
  const p = options.criterion === 'l2' ? 2 : 1;
  const scores = tf.tidy(() => {
    const rows = tf.reshape(layer.weight, [C, -1]);
    return p === 1 ? tf.sum(tf.abs(rows), 1) : tf.sqrt(tf.sum(tf.square(rows), 1));
  });
  const s = scores.dataSync();
  scores.dispose();
  const kept = Array.from({ length: C }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, keep).sort((a, b) => a - b);

  // The smaller producer.
  let small: Linear | Conv2d;
  if (layer instanceof Linear) small = new Linear(layer.inFeatures, keep, { bias: layer.bias !== null, seed: 0 });
  else small = makeConv2d(convGeometry(layer), keep, layer.inChannels, layer.bias !== null);
  tf.tidy(() => {
    small.weight.assign(gather(layer.weight, kept, 0));
    if (small.bias && layer.bias) small.bias.assign(gather(layer.bias, kept, 0));
  });

  // The norm between them.
  let smallNorm: BatchNorm1d | BatchNorm2d | null = null;
  if (options.norm) {
    const bn = model.getModule(options.norm);
    if (!(bn instanceof BatchNorm1d) && !(bn instanceof BatchNorm2d)) throw new InvalidArgumentError(`pruneChannels: '${options.norm}' is not a BatchNorm1d/2d`);
    if (bn.numFeatures !== C) throw new InvalidArgumentError(`pruneChannels: '${options.norm}' has ${bn.numFeatures} features, expected ${C}`);
    smallNorm = bn instanceof BatchNorm2d ? new BatchNorm2d(keep, bn.options) : new BatchNorm1d(keep, bn.options);
    const dst = smallNorm.stateDict();
    tf.tidy(() => {
      for (const [k, v] of Object.entries(bn.stateDict())) (dst[k] as tf.Variable).assign(v.rank === 1 ? gather(v, kept, 0) : v);
    });
  }

  // The consumer's inputs.
  let idx = kept;
  let smallNext: Linear | Conv2d;
  if (next instanceof Linear) {
    if (next.inFeatures !== C) {
      // After a Flatten of the conv's output: spatial positions × channels.
      if (!(layer instanceof Conv2d) || next.inFeatures % C) throw new InvalidArgumentError(`pruneChannels: '${options.next}' takes ${next.inFeatures} inputs, not ${C} or a multiple from a flattened conv`);
      const hw = next.inFeatures / C;
      idx = [];
      if (layer.dataFormat === 'NHWC') for (let q = 0; q < hw; q++) for (const c of kept) idx.push(q * C + c);
      else for (const c of kept) for (let q = 0; q < hw; q++) idx.push(c * hw + q);
    }
    smallNext = new Linear(idx.length, next.outFeatures, { bias: next.bias !== null, seed: 0 });
  } else {
    if (next.inChannels !== C) throw new InvalidArgumentError(`pruneChannels: '${options.next}' has ${next.inChannels} input channels, expected ${C}`);
    smallNext = makeConv2d(convGeometry(next), next.outChannels, keep, next.bias !== null);
  }
  tf.tidy(() => {
    smallNext.weight.assign(gather(next.weight, idx, 1));
    if (smallNext.bias && next.bias) smallNext.bias.assign(next.bias);
  });

  replaceModule(model, options.layer, small).dispose();
  if (smallNorm) replaceModule(model, options.norm!, smallNorm).dispose();
  replaceModule(model, options.next, smallNext).dispose();
  return { kept, before: C, after: keep };
}
