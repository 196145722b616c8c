import { assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import type { Seed } from '../init.js';
import { Module, shapeError } from '../module.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';

function check(name: string, x: Tensor, channels?: number): void {
  if (x.rank !== 4 || (channels !== undefined && x.shape[3] !== channels)) shapeError(name, 'input', `[N, H, W, ${channels ?? 'C'}] (NHWC)`, x.shape);
}

/**
 * CBAM's spatial attention (Woo et al. 2018): the channel-wise mean and max maps are stacked,
 * convolved (k×k, 2 → 1 channels) and squashed by a sigmoid into a [N, H, W, 1] gate that scales
 * every position. `attention(x)` returns the gate. NHWC.
 */
export class SpatialAttention extends Module {
  readonly conv: Conv2d;
  constructor(readonly kernelSize = 7, options: { seed?: Seed } = {}) {
    super();
    assertPositiveInt('SpatialAttention kernelSize', kernelSize);
    this.conv = this.registerModule('conv', new Conv2d(2, 1, kernelSize, { padding: Math.floor(kernelSize / 2), bias: false, seed: options.seed }));
  }
  attention(x: Tensor): Tensor {
    check('SpatialAttention', x);
    return tf.tidy(() => tf.sigmoid(this.conv.forward(tf.concat([tf.mean(x, 3, true), tf.max(x, 3, true)], 3))));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(x, this.attention(x)));
  }
}

/**
 * CBAM's channel attention: a shared MLP (C → C/r → C) over the spatially average- and max-pooled
 * features, summed and squashed into a [N, 1, 1, C] gate. NHWC.
 */
export class ChannelAttention extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(readonly channels: number, readonly reduction = 16, options: { seed?: Seed } = {}) {
    super();
    assertPositiveInt('ChannelAttention channels', channels);
    const hidden = Math.max(1, Math.floor(channels / reduction));
    const rng = rngFor(options.seed);
    this.fc1 = this.registerModule('fc1', new Linear(channels, hidden, { seed: rng }));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, channels, { seed: rng }));
  }
  attention(x: Tensor): Tensor {
    check('ChannelAttention', x, this.channels);
    return tf.tidy(() => {
      const mlp = (v: Tensor) => this.fc2.forward(tf.relu(this.fc1.forward(v)));
      const g = tf.sigmoid(tf.add(mlp(tf.mean(x, [1, 2])), mlp(tf.max(x, [1, 2]))));
      return tf.reshape(g, [x.shape[0]!, 1, 1, this.channels]);
    });
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(x, this.attention(x)));
  }
}

/** CBAM block: channel attention, then spatial attention (a drop-in after any conv stage). NHWC. */
export class CBAM extends Module {
  readonly channel: ChannelAttention;
  readonly spatial: SpatialAttention;
  constructor(channels: number, options: { reduction?: number; kernelSize?: number; seed?: Seed } = {}) {
    super();
    const rng = rngFor(options.seed);
    this.channel = this.registerModule('channel', new ChannelAttention(channels, options.reduction ?? 16, { seed: rng }));
    this.spatial = this.registerModule('spatial', new SpatialAttention(options.kernelSize ?? 7, { seed: rng }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.spatial.forward(this.channel.forward(x)));
  }
}
