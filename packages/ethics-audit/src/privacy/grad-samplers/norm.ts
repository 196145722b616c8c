import { tf, type Tensor, type Variable } from '@nutshell/core';
import { GroupNorm, LayerNorm, RMSNorm, type Module } from '@nutshell/nn';
import type { GradSampler } from './types.js';

/**
 * The affine parameters of a normalisation layer act elementwise on the normalised input x̂
 * (y = x̂ ⊙ w + b), so example b's gradients are Σ over its other positions of g ⊙ x̂ and of g.
 * x̂ is recomputed from the recorded input with the layer's own formula.
 */
interface NormSpec<M extends Module> {
  name: string;
  matches(m: Module): m is M;
  weight(m: M): Variable | null;
  bias(m: M): Variable | null;
  accepts(m: M, inShape: number[], B: number): boolean;
  normalized(m: M, x: Tensor): Tensor;
  /** Axes of x summed per example (all but the batch axis and the parameter axes). */
  sumAxes(m: M, rank: number): number[];
}

function sumOver(t: Tensor, axes: number[]): Tensor {
  return axes.length ? tf.sum(t, axes) : t;
}

function normSampler<M extends Module>(spec: NormSpec<M>): GradSampler<M> {
  return {
    name: spec.name,
    matches: spec.matches,
    parameters: (m) => [spec.weight(m), spec.bias(m)].filter((p): p is Variable => p !== null),
    accepts: (m, inShape, outShape, B) => spec.accepts(m, inShape, B) && outShape.length === inShape.length && outShape.every((d, i) => d === inShape[i]),
    perSample(m, input, backprop) {
      const axes = spec.sumAxes(m, input.rank);
      const out: Tensor[] = [];
      if (spec.weight(m)) out.push(sumOver(tf.mul(backprop, spec.normalized(m, input)), axes));
      if (spec.bias(m)) out.push(sumOver(backprop, axes));
      return out;
    },
  };
}

const middle = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

export const layerNormSampler = normSampler<LayerNorm>({
  name: 'LayerNorm',
  matches: (m): m is LayerNorm => m instanceof LayerNorm,
  weight: (m) => m.weight,
  bias: (m) => m.bias,
  accepts: (m, s, B) => s[0] === B && s.length > m.normalizedShape.length,
  normalized(m, x) {
    const k = m.normalizedShape.length;
    const { mean, variance } = tf.moments(x, middle(x.rank - k, x.rank), true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, m.options.eps ?? 1e-5)));
  },
  sumAxes: (m, rank) => middle(1, rank - m.normalizedShape.length),
});

export const rmsNormSampler = normSampler<RMSNorm>({
  name: 'RMSNorm',
  matches: (m): m is RMSNorm => m instanceof RMSNorm,
  weight: (m) => m.weight,
  bias: () => null,
  accepts: (_m, s, B) => s[0] === B && s.length >= 2,
  normalized: (m, x) => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), m.options.eps ?? 1e-6))),
  sumAxes: (_m, rank) => middle(1, rank - 1),
});

const channelsLast = (m: GroupNorm) => (m.options.channels ?? 'channelsLast') === 'channelsLast';

export const groupNormSampler = normSampler<GroupNorm>({
  name: 'GroupNorm',
  matches: (m): m is GroupNorm => m instanceof GroupNorm,
  weight: (m) => m.weight,
  bias: (m) => m.bias,
  accepts: (_m, s, B) => s[0] === B && s.length >= 2,
  normalized(m, x) {
    const G = m.numGroups, C = m.numChannels, N = x.shape[0]!;
    const last = channelsLast(m);
    const grouped = last ? tf.reshape(x, [N, -1, G, C / G]) : tf.reshape(x, [N, G, -1]);
    const { mean, variance } = tf.moments(grouped, last ? [1, 3] : [2], true);
    return tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, m.options.eps ?? 1e-5))), x.shape);
  },
  // Parameters live on the channel axis: last, or 1 for channels-first.
  sumAxes: (m, rank) => (channelsLast(m) ? middle(1, rank - 1) : middle(2, rank)),
});
