import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Linear, Module } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { AdapterDict, ParamDict, WeightOnly } from './containers.js';
import { doraOutput, rowNorm } from './dora.js';
import { initLoraPair } from './init.js';
import { LoraLayer, type AdapterTensors } from './lora-layer.js';
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
  private loraA = new AdapterDict<WeightOnly>();
  private loraB = new AdapterDict<WeightOnly>();
  private magnitude = new ParamDict();

  constructor(base: Module, config: { fan_in_fan_out: boolean }) {
    super(base);
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
    this.registerModule('lora_A', this.loraA);
    this.registerModule('lora_B', this.loraB);
    this.registerModule('lora_magnitude_vector', this.magnitude);
  }

  get kind(): 'linear' {
    return 'linear';
  }

  protected override get supportsDora(): boolean {
    return true;
  }

  protected createTensors(name: string, config: LoraConfig, seed: string): void {
    const { A, B } = initLoraPair([config.r, this.inFeatures], [this.outFeatures, config.r], config.init_lora_weights, config.r, seed);
    this.loraA.set(name, new WeightOnly(A));
    this.loraB.set(name, new WeightOnly(B));
    if (config.use_dora) {
      // m starts as the row norms of W0 + ΔW, so the DoRA layer equals the base at init (B = 0).
      const m = tf.tidy(() => {
        const w = this.readWeight();
        return rowNorm(tf.add(w, this.deltaWeight(name)));
      });
      this.magnitude.create(name, m);
    }
  }

  tensorsOf(name: string): { A: Variable; B: Variable; m?: Variable } {
    const A = this.loraA.get(name)?.weight;
    const B = this.loraB.get(name)?.weight;
    if (!A || !B) throw new InvalidArgumentError(`LoraLinear: no adapter '${name}'`);
    return { A, B, m: this.magnitude.get(name) };
  }

  adapterTensors(name: string): AdapterTensors {
    const { A, B, m } = this.tensorsOf(name);
    const out: AdapterTensors = [['lora_A.weight', A], ['lora_B.weight', B]];
    if (m) out.push(['lora_magnitude_vector', m]);
    return out;
  }

  protected dropTensors(name: string): void {
    const { A, B, m } = this.tensorsOf(name);
    tf.dispose([A, B]);
    this.loraA = this.loraA.without(name);
    this.loraB = this.loraB.without(name);
    this.setModule('lora_A', this.loraA);
    this.setModule('lora_B', this.loraB);
    if (m) {
      m.dispose();
      this.magnitude = this.magnitude.without(name);
      this.setModule('lora_magnitude_vector', this.magnitude);
    }
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
    const { A, B, m } = this.tensorsOf(name);
    const s = this.scaling(name);
    const xd = this.dropoutFor(name).forward(x) as Tensor;
    const flat = tf.reshape(xd, [-1, this.inFeatures]);
    let d = tf.mul(tf.matMul(tf.matMul(flat, A, false, true), B, false, true), s);
    if (m) {
      const w = this.readWeight();
      d = doraOutput(flat, w, A, B, m, s, d);
    }
    return tf.reshape(d, [...x.shape.slice(0, -1), this.outFeatures]);
  }

  /** DoRA merge: W' = m / ‖W + ΔW‖_row · (W + ΔW); the norm is kept for unmerge. */
  protected override mergedWeight(name: string, w: Tensor): Tensor {
    const { m } = this.tensorsOf(name);
    if (!m) return super.mergedWeight(name, w);
    const factor = tf.tidy(() => tf.div(m, rowNorm(tf.add(w, this.deltaWeight(name)))));
    this.mergeCache.get(name)?.dispose();
    this.mergeCache.set(name, factor);
    return tf.tidy(() => tf.mul(tf.expandDims(factor, 1), tf.add(w, this.deltaWeight(name))));
  }

  protected override unmergedWeight(name: string, w: Tensor): Tensor {
    const factor = this.mergeCache.get(name);
    if (!factor) return super.unmergedWeight(name, w);
    const out = tf.tidy(() => tf.sub(tf.div(w, tf.expandDims(factor, 1)), this.deltaWeight(name)));
    factor.dispose();
    this.mergeCache.delete(name);
    return out;
  }
}
