import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Conv2d, conv2dTorch, fromNHWC, toNHWC } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { channelNorm, doraMix } from './dora.js';
import { initLoraPair } from './init.js';
import { LoraLayer, LoraPair } from './lora-layer.js';

/**
 * LoRA on a Conv2d (PEFT's lora.Conv2d): lora_A is a bias-free conv with the base's kernel, stride,
 * padding and dilation, [r, in, kh, kw]; lora_B a 1×1 conv [out, r, 1, 1]. ΔW[o,i,:,:] =
 * s·Σ_r B[o,r] A[r,i,:,:]. DoRA (PEFT's DoraConv2dLayer): a magnitude [1, out, 1, 1] over the norm of
 * each output channel's filter (in×kh×kw). Grouped convolutions are not adapted.
 */
export class LoraConv2d extends LoraLayer {
  declare readonly baseLayer: Conv2d;

  constructor(base: Conv2d) {
    super(base, new LoraPair('layer', ['lora_A', 'lora_B']));
    if (base.groups !== 1) throw new InvalidArgumentError(`LoraConv2d: grouped convolutions (groups=${base.groups}) are not supported`);
  }

  get kind(): 'conv2d' {
    return 'conv2d';
  }

  protected initPair(config: LoraConfig, seed: string): { A: Tensor; B: Tensor } {
    const b = this.baseLayer;
    return initLoraPair([config.r, b.inChannels, ...b.kernelSize], [b.outChannels, config.r, 1, 1], config.init_lora_weights, config.r, seed);
  }

  protected weightNorm(w: Tensor): Tensor {
    return channelNorm(w);
  }

  protected get weightFactorShape(): number[] {
    return [this.baseLayer.outChannels, 1, 1, 1];
  }

  protected get outputFactorShape(): number[] {
    const c = this.baseLayer.outChannels;
    return this.baseLayer.dataFormat === 'NHWC' ? [c] : [1, c, 1, 1];
  }

  deltaWeight(name: string): Tensor {
    const { A, B } = this.tensorsOf(name);
    const s = this.scaling(name);
    const [r, inC, kh, kw] = A.shape as [number, number, number, number];
    const out = B.shape[0]!;
    return tf.tidy(() => tf.mul(tf.reshape(tf.matMul(tf.reshape(B, [out, r]), tf.reshape(A, [r, inC * kh * kw])), [out, inC, kh, kw]), s));
  }

  readWeight(): Tensor {
    return tf.clone(this.baseLayer.weight);
  }

  writeWeight(w: Tensor): void {
    this.baseLayer.weight.assign(w);
  }

  protected adapterOutput(name: string, x: Tensor): Tensor {
    const { A, B } = this.tensorsOf(name);
    const b = this.baseLayer;
    const s = this.scaling(name);
    const xd = this.dropoutFor(name).forward(x) as Tensor;
    // Conv2d keeps its resolved [top, bottom, left, right] padding private; LoRA's A conv must use the same.
    const padding = (b as unknown as { pad: [number, number, number, number] }).pad;
    const opts = { stride: b.stride, padding, dilation: b.dilation, groups: 1 };
    const xh = toNHWC(xd, b.dataFormat);
    const h = conv2dTorch(xh, A, null, opts);
    const [n, hh, ww, r] = h.shape as [number, number, number, number];
    const y = tf.matMul(tf.reshape(h, [-1, r]), tf.reshape(B, [b.outChannels, r]), false, true);
    let d = tf.mul(tf.reshape(y, [n, hh, ww, b.outChannels]), s);
    const k = this.doraScale(name);
    if (k) {
      // PEFT's DoraConv2dLayer: the bias-free base conv on the dropped-out input; k per output channel.
      d = doraMix(conv2dTorch(xh, b.weight, null, opts), d, tf.reshape(k, [b.outChannels]));
    }
    return fromNHWC(d, b.dataFormat);
  }
}
