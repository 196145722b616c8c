import { FUSED_KERNELS, InvalidArgumentError, assertPositiveInt, fusedGroupNorm, fusedLayerNorm, hasFusedKernel, tf, type Tensor, type Variable } from '@nutshell/core';
import { Module, shapeError, type Parameter } from '../module.js';

/** torch.nn.LayerNorm over the trailing `normalizedShape` dims (biased variance). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  constructor(normalizedShape: number | number[], readonly options: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((d) => assertPositiveInt('LayerNorm normalizedShape', d));
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones(this.normalizedShape)) : null;
    this.bias = affine && options.bias !== false ? this.registerParameter('bias', tf.zeros(this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    if (x.rank < k || this.normalizedShape.some((d, i) => x.shape[x.rank - k + i] !== d)) {
      shapeError('LayerNorm', 'input', `[..., ${this.normalizedShape.join(', ')}]`, x.shape);
    }
    // One kernel forward and one backward where the backend has them (statistics in double there).
    if (k === 1 && this.weight && x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.layerNorm)) {
      return fusedLayerNorm(x, this.weight, this.bias, this.options.eps ?? 1e-5);
    }
    return tf.tidy(() => {
      const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
      const { mean, variance } = tf.moments(x, axes, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.options.eps ?? 1e-5)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}

/** RMSNorm (as in LLaMA / torch.nn.RMSNorm): x / √(mean(x²) + ε) · weight over the last dim. */
export class RMSNorm extends Module {
  readonly weight: Parameter | null;
  constructor(readonly dim: number, readonly options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    assertPositiveInt('RMSNorm dim', dim);
    this.weight = options.elementwiseAffine === false ? null : this.registerParameter('weight', tf.ones([dim]));
  }
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.dim) shapeError('RMSNorm', 'input', `[..., ${this.dim}]`, x.shape);
    return tf.tidy(() => {
      const y = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.options.eps ?? 1e-6)));
      return this.weight ? tf.mul(y, this.weight) : y;
    });
  }
}

export type ChannelFormat = 'channelsLast' | 'channelsFirst';

export interface BatchNormOptions {
  eps?: number;
  /** Running-stat momentum (PyTorch convention: new = (1−m)·old + m·batch); null = cumulative average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  /** Where channels are: last (NHWC / [N, L, C], default) or first after the batch (NCHW / [N, C, L]). */
  channels?: ChannelFormat;
}

/** Shape that broadcasts a [C] vector against x along its channel axis. */
function channelShape(x: Tensor, c: number, axis: number): number[] {
  return x.shape.map((_, i) => (i === axis ? c : 1));
}

abstract class BatchNormBase extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Variable | null;
  readonly runningVar: Variable | null;
  readonly numBatchesTracked: Variable | null;
  constructor(private readonly layer: string, private readonly ranks: number[], readonly numFeatures: number, readonly options: BatchNormOptions) {
    super();
    assertPositiveInt(`${layer} numFeatures`, numFeatures);
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('running_var', tf.ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32')) : null;
  }

  forward(x: Tensor): Tensor {
    const axis = (this.options.channels ?? 'channelsLast') === 'channelsLast' || x.rank === 2 ? x.rank - 1 : 1;
    if (!this.ranks.includes(x.rank) || x.shape[axis] !== this.numFeatures) {
      shapeError(this.layer, 'input', `rank ${this.ranks.join(' or ')} with ${this.numFeatures} channels on axis ${axis}`, x.shape);
    }
    const C = this.numFeatures;
    const bshape = channelShape(x, C, axis);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const useBatch = this.training || !this.runningMean;
    return tf.tidy(() => {
      let mean: Tensor, variance: Tensor;
      if (useBatch) {
        const n = x.size / C;
        if (this.training && n <= 1) throw new InvalidArgumentError(`${this.layer}: expected more than 1 value per channel when training, got input shape [${x.shape.join(', ')}]`);
        ({ mean, variance } = tf.moments(x, axes));
        if (this.training && this.runningMean && this.runningVar && this.numBatchesTracked) {
          this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
          const m = this.options.momentum === undefined ? 0.1 : this.options.momentum;
          const mom = m === null ? 1 / this.numBatchesTracked.dataSync()[0]! : m;
          const unbiased = tf.mul(variance, n / (n - 1));
          // These ops do not feed the output, so backprop ignores them.
          this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - mom), tf.mul(mean, mom)));
          this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - mom), tf.mul(unbiased, mom)));
        }
      } else {
        mean = this.runningMean!;
        variance = this.runningVar!;
      }
      let y = tf.mul(tf.sub(x, tf.reshape(mean, bshape)), tf.reshape(tf.rsqrt(tf.add(variance, this.options.eps ?? 1e-5)), bshape));
      if (this.weight) y = tf.mul(y, tf.reshape(this.weight, bshape));
      if (this.bias) y = tf.add(y, tf.reshape(this.bias, bshape));
      return y;
    });
  }
}

/** torch.nn.BatchNorm1d: input [N, C] or [N, L, C] ([N, C, L] with channels: 'channelsFirst'). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm1d', [2, 3], numFeatures, options);
  }
}

/** torch.nn.BatchNorm2d: input NHWC ([N, C, H, W] with channels: 'channelsFirst'). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm2d', [4], numFeatures, options);
  }
}

/** torch.nn.GroupNorm: statistics per sample over each group of channels and all positions. */
export class GroupNorm extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly options: { eps?: number; affine?: boolean; channels?: ChannelFormat } = {}) {
    super();
    assertPositiveInt('GroupNorm numGroups', numGroups);
    assertPositiveInt('GroupNorm numChannels', numChannels);
    if (numChannels % numGroups) throw new InvalidArgumentError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numChannels])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numChannels])) : null;
  }
  forward(x: Tensor): Tensor {
    const last = (this.options.channels ?? 'channelsLast') === 'channelsLast';
    const axis = last ? x.rank - 1 : 1;
    if (x.rank < 2 || x.shape[axis] !== this.numChannels) shapeError('GroupNorm', 'input', `${this.numChannels} channels on axis ${axis}`, x.shape);
    const G = this.numGroups;
    const C = this.numChannels;
    // Channels last with an affine weight: one kernel each way where the backend has them.
    if (last && this.weight && x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.groupNorm)) {
      return fusedGroupNorm(x, this.weight, this.bias, G, this.options.eps ?? 1e-5);
    }
    return tf.tidy(() => {
      const N = x.shape[0]!;
      const grouped = last ? tf.reshape(x, [N, -1, G, C / G]) : tf.reshape(x, [N, G, -1]);
      const axes = last ? [1, 3] : [2];
      const { mean, variance } = tf.moments(grouped, axes, true);
      let y = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.options.eps ?? 1e-5))), x.shape);
      const bshape = channelShape(x, C, axis);
      if (this.weight) y = tf.mul(y, tf.reshape(this.weight, bshape));
      if (this.bias) y = tf.add(y, tf.reshape(this.bias, bshape));
      return y;
    });
  }
}

/**
 * torch.nn.InstanceNorm1d/2d: per sample and channel over all positions. With
 * `trackRunningStats` it keeps `running_mean` / `running_var` / `num_batches_tracked` like PyTorch
 * (updated in training with the batch mean of per-instance statistics, unbiased variance) and
 * normalises with them in eval mode. As in PyTorch, `num_batches_tracked` exists but stays 0.
 */
export class InstanceNorm extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Variable | null;
  readonly runningVar: Variable | null;
  readonly numBatchesTracked: Variable | null;
  constructor(readonly numFeatures: number, readonly options: { eps?: number; affine?: boolean; channels?: ChannelFormat; trackRunningStats?: boolean; momentum?: number } = {}) {
    super();
    assertPositiveInt('InstanceNorm numFeatures', numFeatures);
    this.weight = options.affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = options.affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? false;
    this.runningMean = track ? this.registerBuffer('running_mean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('running_var', tf.ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32')) : null;
  }
  forward(x: Tensor): Tensor {
    const last = (this.options.channels ?? 'channelsLast') === 'channelsLast';
    const axis = last ? x.rank - 1 : 1;
    if (x.rank < 3 || x.shape[axis] !== this.numFeatures) shapeError('InstanceNorm', 'input', `rank ≥ 3 with ${this.numFeatures} channels on axis ${axis}`, x.shape);
    return tf.tidy(() => {
      const axes = x.shape.map((_, i) => i).filter((i) => i !== 0 && i !== axis);
      const bshape = channelShape(x, this.numFeatures, axis);
      const eps = this.options.eps ?? 1e-5;
      let y: Tensor;
      if (!this.training && this.runningMean && this.runningVar) {
        y = tf.mul(tf.sub(x, tf.reshape(this.runningMean, bshape)), tf.reshape(tf.rsqrt(tf.add(this.runningVar, eps)), bshape));
      } else {
        const { mean, variance } = tf.moments(x, axes, true);
        y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
        if (this.training && this.runningMean && this.runningVar) {
          const n = axes.reduce((a, i) => a * x.shape[i]!, 1);
          const mom = this.options.momentum ?? 0.1;
          const perChannel = (t: Tensor) => tf.mean(tf.reshape(t, [x.shape[0]!, this.numFeatures]), 0);
          const m = perChannel(mean);
          const v = tf.mul(perChannel(variance), n / Math.max(1, n - 1));
          this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - mom), tf.mul(m, mom)));
          this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - mom), tf.mul(v, mom)));
        }
      }
      if (this.weight) y = tf.mul(y, tf.reshape(this.weight, bshape));
      if (this.bias) y = tf.add(y, tf.reshape(this.bias, bshape));
      return y;
    });
  }
}
