import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Linear, Module } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { doraMix, rowNorm } from './dora.js';
import { initLoraPair } from './init.js';
import { LoraLayer, LoraPair } from './lora-layer.js';
import { isQuantizedLinear, requantized } from './quantized-base.js';

type LinearLike = Module & { weight?: Variable; bias?: Variable | null; fanInFanOut?: boolean };

/** Linear, GPT-2 Conv1D (weight [in, out]) and quantized (NF4, int8, …) Linear bases are adapted as linear maps. */
export function isLinearLike(m: Module): boolean {
  if (m instanceof Linear || isQuantizedLinear(m)) return true;
  const w = (m as LinearLike).weight;
  return (m as LinearLike).fanInFanOut === true && w !== undefined && w.rank === 2;
}

/**
 * LoRA on a linear map (PEFT's lora.Linear): lora_A [r, in], lora_B [out, r]; with DoRA a
 * magnitude vector [out]. The canonical weight orientation is [out, in]; a `fan_in_fan_out` base
 * (GPT-2 Conv1D) stores the transpose, which merge takes care of.
 */
export class LoraLinear extends LoraLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly fanInFanOut: boolean;

  constructor(base: Module, config: { fan_in_fan_out: boolean }) {
    super(base, new LoraPair('layer', ['lora_A', 'lora_B']));
    if (!isLinearLike(base)) throw new InvalidArgumentError(`LoraLinear: cannot adapt a ${base.constructor.name}`);
    if (base instanceof Linear || isQuantizedLinear(base)) {
      this.fanInFanOut = false;
      this.inFeatures = base.inFeatures;
      this.outFeatures = base.outFeatures;
    } else {
      // PEFT turns fan_in_fan_out on for Conv1D whatever the config says (with a warning).
      this.fanInFanOut = (base as LinearLike).fanInFanOut === true || config.fan_in_fan_out;
      const [a, b] = (base as LinearLike).weight!.shape as [number, number];
      [this.inFeatures, this.outFeatures] = this.fanInFanOut ? [a, b] : [b, a];
    }
  }

  get kind(): 'linear' {
    return 'linear';
  }

  protected weightNorm(w: Tensor): Tensor {
    return rowNorm(w);
  }

  protected get weightFactorShape(): number[] {
    return [this.outFeatures, 1];
  }

  protected get outputFactorShape(): number[] {
    return [this.outFeatures];
  }

  protected initPair(config: LoraConfig, seed: string): { A: Tensor; B: Tensor } {
    return initLoraPair([config.r, this.inFeatures], [this.outFeatures, config.r], config.init_lora_weights, config.r, seed);
  }

  deltaWeight(name: string): Tensor {
    const { A, B } = this.tensorsOf(name);
    const s = this.scaling(name);
    return tf.tidy(() => tf.mul(tf.matMul(B, A), s));
  }

  readWeight(): Tensor {
    const base = this.baseLayer;
    if (isQuantizedLinear(base)) return base.dequantizeWeight();
    const w = (base as LinearLike).weight!;
    return this.fanInFanOut ? tf.transpose(w) : tf.clone(w);
  }

  writeWeight(w: Tensor): void {
    const base = this.baseLayer;
    if (isQuantizedLinear(base)) {
      // Re-quantize (lossy); setModule re-points this.baseLayer at the new layer.
      this.setModule('base_layer', requantized(base, w)).dispose();
      return;
    }
    const v = (base as LinearLike).weight!;
    tf.tidy(() => v.assign(this.fanInFanOut ? tf.transpose(w) : w));
  }

  protected adapterOutput(name: string, x: Tensor): Tensor {
    const { A, B } = this.tensorsOf(name);
    const s = this.scaling(name);
    const xd = this.dropoutFor(name).forward(x) as Tensor;
    const flat = tf.reshape(xd, [-1, this.inFeatures]);
    let d = tf.mul(tf.matMul(tf.matMul(flat, A, false, true), B, false, true), s);
    const k = this.doraScale(name);
    // DoRA's base term is x·W0ᵀ without bias, on the dropped-out input like PEFT in training.
    if (k) d = doraMix(tf.matMul(flat, this.readWeight(), false, true), d, k);
    return tf.reshape(d, [...x.shape.slice(0, -1), this.outFeatures]);
  }
}
