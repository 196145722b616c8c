import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Conv2d, conv2dTorch, fromNHWC, toNHWC } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { AdapterDict, WeightOnly } from './containers.js';
import { initLoraPair } from './init.js';
import { LoraLayer, type AdapterTensors } from './lora-layer.js';

/**
 * LoRA on a Conv2d (PEFT's lora.Conv2d): lora_A is a bias-free conv with the base's kernel, stride,
 * padding and dilation, [r, in, kh, kw]; lora_B a 1×1 conv [out, r, 1, 1]. ΔW[o,i,:,:] =
 * s·Σ_r B[o,r] A[r,i,:,:]. Grouped convolutions are not adapted.
 */
export class LoraConv2d extends LoraLayer {
  private loraA = new AdapterDict<WeightOnly>();
  private loraB = new AdapterDict<WeightOnly>();
  declare readonly baseLayer: Conv2d;

  constructor(base: Conv2d) {
    super(base);
    if (base.groups !== 1) throw new InvalidArgumentError(`LoraConv2d: grouped convolutions (groups=${base.groups}) are not supported`);
    this.registerModule('lora_A', this.loraA);
    this.registerModule('lora_B', this.loraB);
  }

  get kind(): 'conv2d' {
    return 'conv2d';
  }

  protected createTensors(name: string, config: LoraConfig, seed: string): void {
    const b = this.baseLayer;
    const { A, B } = initLoraPair([config.r, b.inChannels, ...b.kernelSize], [b.outChannels, config.r, 1, 1], config.init_lora_weights, config.r, seed);
    this.loraA.set(name, new WeightOnly(A));
    this.loraB.set(name, new WeightOnly(B));
  }

  tensorsOf(name: string): { A: WeightOnly['weight']; B: WeightOnly['weight'] } {
    const A = this.loraA.get(name)?.weight;
    const B = this.loraB.get(name)?.weight;
    if (!A || !B) throw new InvalidArgumentError(`LoraConv2d: no adapter '${name}'`);
    return { A, B };
  }

  adapterTensors(name: string): AdapterTensors {
    const { A, B } = this.tensorsOf(name);
    return [['lora_A.weight', A], ['lora_B.weight', B]];
  }

  protected dropTensors(name: string): void {
    const { A, B } = this.tensorsOf(name);
    tf.dispose([A, B]);
    this.loraA = this.loraA.without(name);
    this.loraB = this.loraB.without(name);
    this.setModule('lora_A', this.loraA);
    this.setModule('lora_B', this.loraB);
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
    const h = conv2dTorch(toNHWC(xd, b.dataFormat), A, null, { stride: b.stride, padding, dilation: b.dilation, groups: 1 });
    const [n, hh, ww, r] = h.shape as [number, number, number, number];
    const y = tf.matMul(tf.reshape(h, [-1, r]), tf.reshape(B, [b.outChannels, r]), false, true);
    return fromNHWC(tf.mul(tf.reshape(y, [n, hh, ww, b.outChannels]), s), b.dataFormat);
  }
}
