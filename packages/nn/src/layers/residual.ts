import { rngFor, tf, type Tensor } from '@nutshell/core';
import type { Seed } from '../init.js';
import { Module } from '../module.js';
import { Conv2d, type DataFormat } from './conv.js';
import { Sequential } from './containers.js';
import { BatchNorm2d } from './norm.js';

/**
 * torchvision's ResNet BasicBlock: conv3×3 → BN → ReLU → conv3×3 → BN, plus the identity (or a
 * 1×1 conv + BN `downsample` when the stride or width changes), then ReLU. Same parameter names.
 */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inChannels: number, outChannels: number, options: { stride?: number; dataFormat?: DataFormat; seed?: Seed } = {}) {
    super();
    const stride = options.stride ?? 1;
    const dataFormat = options.dataFormat ?? 'NHWC';
    const channels = dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst';
    const rng = rngFor(options.seed);
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false, dataFormat, seed: rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(outChannels, { channels }));
    this.conv2 = this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false, dataFormat, seed: rng }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outChannels, { channels }));
    this.downsample = stride !== 1 || inChannels !== outChannels
      ? this.registerModule('downsample', new Sequential(new Conv2d(inChannels, outChannels, 1, { stride, bias: false, dataFormat, seed: rng }), new BatchNorm2d(outChannels, { channels })))
      : null;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const out = this.bn2.forward(this.conv2.forward(tf.relu(this.bn1.forward(this.conv1.forward(x)))));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return tf.relu(tf.add(out, identity));
    });
  }
}
