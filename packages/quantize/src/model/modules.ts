import { DTypeError, InvalidArgumentError, tf, tensor, type Tensor } from '@nutshell/core';
import { Conv2d, Embedding, Linear, Module, conv2dTorch, fromNHWC, toNHWC, type DataFormat } from '@nutshell/nn';
import { dynamicFakeQuantize, staticFakeQuantize } from './dynamic.js';
import { PackedWeight, type WeightQuantConfig } from './packed-weight.js';
import { DequantCache, cacheWanted, checkWeightCacheMode, type WeightCacheMode } from './weight-cache.js';

/**
 * How a quantized layer treats its input: `none` (weight-only), `dynamic` (ONNX DynamicQuantizeLinear
 * per call, uint8) or `static` (fixed uint8 scale and zero point from calibration).
 */
export type ActivationQuant = { mode: 'none' } | { mode: 'dynamic' } | { mode: 'static'; scale: number; zeroPoint: number };

/** Common surface of the quantized layers (QuantizedLinear, QuantizedConv2d, QuantizedEmbedding). */
export interface QuantizedModule {
  readonly packedWeight: PackedWeight;
  readonly activation: ActivationQuant;
  /** The float32 weight, rebuilt from the packed codes (the caller disposes it). */
  dequantizeWeight(): Tensor;
}

export function isQuantizedModule(m: unknown): m is Module & QuantizedModule {
  return m instanceof QuantizedLinear || m instanceof QuantizedConv2d || m instanceof QuantizedEmbedding;
}

/**
 * Base of the layers that multiply by a whole packed weight (Linear, Conv2d): holds the packed weight
 * and an optional dequantized float32 copy (see WeightCacheMode), freed by `dispose()` and rebuilt
 * when the packed weight is replaced or marked modified.
 */
export abstract class PackedWeightModule extends Module {
  private packed: PackedWeight;
  private mode: WeightCacheMode;
  private readonly cache = new DequantCache();
  constructor(packedWeight: PackedWeight, weightCache: WeightCacheMode = 'auto') {
    super();
    this.packed = packedWeight;
    this.mode = checkWeightCacheMode(weightCache);
  }

  get packedWeight(): PackedWeight {
    return this.packed;
  }

  /** Replaces the packed weight (same shape); a cached float copy of the old one is dropped. */
  setPackedWeight(w: PackedWeight): void {
    if (!(w instanceof PackedWeight)) throw new InvalidArgumentError(`${this.constructor.name}.setPackedWeight: expected a PackedWeight`);
    const a = this.packed.shape;
    if (w.shape.length !== a.length || w.shape.some((d, i) => d !== a[i])) {
      throw new InvalidArgumentError(`${this.constructor.name}.setPackedWeight: shape [${w.shape.join(', ')}] differs from [${a.join(', ')}]`);
    }
    this.packed = w;
    this.cache.release();
  }

  get weightCache(): WeightCacheMode {
    return this.mode;
  }
  /** Changes the cache mode; `off` frees a cached copy at once. */
  set weightCache(mode: WeightCacheMode) {
    this.mode = checkWeightCacheMode(mode);
    if (mode === 'off') this.cache.release();
  }

  /** Bytes of the dequantized float32 copy held now (0 when none). */
  get cacheBytes(): number {
    return this.cache.bytes;
  }

  releaseWeightCache(): void {
    this.cache.release();
  }

  /** The float weight in the layout the forward multiplies by (the caller disposes it). */
  protected abstract buildForwardWeight(): Tensor;

  /**
   * The weight for one forward, inside the caller's tidy: the cached copy (kept) or a fresh one
   * (disposed by the tidy). Both hold the same values, so outputs do not depend on the mode.
   */
  protected forwardWeight(): Tensor {
    if (cacheWanted(this.mode, this.training)) return this.cache.get(this.packed, () => this.buildForwardWeight());
    this.cache.release();
    return this.buildForwardWeight();
  }

  protected override disposeExtra(): void {
    this.cache.release();
  }
}

function checkActivation(a: ActivationQuant | undefined): ActivationQuant {
  const act = a ?? { mode: 'none' };
  if (act.mode === 'static') {
    if (!(act.scale > 0) || !Number.isInteger(act.zeroPoint) || act.zeroPoint < 0 || act.zeroPoint > 255) {
      throw new InvalidArgumentError(`static activation quantization needs scale > 0 and an integer zero point in [0, 255], got ${act.scale}, ${act.zeroPoint}`);
    }
  } else if (act.mode !== 'none' && act.mode !== 'dynamic') {
    throw new InvalidArgumentError(`activation mode must be none, dynamic or static, got ${JSON.stringify((act as { mode: unknown }).mode)}`);
  }
  return act;
}

function quantizeInput(x: Tensor, act: ActivationQuant): Tensor {
  if (act.mode === 'dynamic') return dynamicFakeQuantize(x);
  if (act.mode === 'static') return staticFakeQuantize(x, act.scale, act.zeroPoint);
  return x;
}

export interface QuantizedLinearOptions {
  activation?: ActivationQuant;
  /**
   * The layer replaced a fan-in-fan-out layer (GPT-2 Conv1D, weight [in, out]). The packed weight is
   * still [out, in]; the flag is recorded when saving so the float weight can be restored as [in, out].
   */
  fromFanInFanOut?: boolean;
  /** Keep the dequantized weight between forwards (default `auto`: in eval mode). */
  weightCache?: WeightCacheMode;
}

/**
 * A Linear whose weight [out, in] stays packed (int8 / int4 / NF4 / FP4) and is dequantized on the fly
 * (or once, into a cache: see WeightCacheMode); the bias stays a float32 parameter named `bias`.
 * Gradients flow to the input (and the bias), so it can sit frozen under adapters (QLoRA).
 */
export class QuantizedLinear extends PackedWeightModule implements QuantizedModule {
  readonly bias: tf.Variable | null;
  readonly activation: ActivationQuant;
  /** Replaced a layer whose float weight was stored [in, out] (see QuantizedLinearOptions). */
  // Not named `fanInFanOut`: the packed weight is [out, in], and adapters key off that flag.
  readonly fromFanInFanOut: boolean;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    packedWeight: PackedWeight,
    bias: Tensor | null = null,
    options: QuantizedLinearOptions = {},
  ) {
    super(packedWeight, options.weightCache);
    const [o, i] = packedWeight.shape;
    if (packedWeight.shape.length !== 2 || o !== outFeatures || i !== inFeatures) {
      throw new InvalidArgumentError(`QuantizedLinear: packed weight has shape [${packedWeight.shape.join(', ')}], expected [${outFeatures}, ${inFeatures}]`);
    }
    if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) throw new InvalidArgumentError(`QuantizedLinear: bias must have shape [${outFeatures}], got [${bias.shape.join(', ')}]`);
    this.bias = bias ? this.registerParameter('bias', tf.clone(bias)) : null;
    this.activation = checkActivation(options.activation);
    this.fromFanInFanOut = options.fromFanInFanOut === true;
  }

  /** Quantizes a float weight [out, in] (tensor) with an optional bias [out] (both copied). */
  static fromWeight(weight: Tensor, bias: Tensor | null, config: WeightQuantConfig, options: QuantizedLinearOptions = {}): QuantizedLinear {
    if (weight.rank !== 2) throw new InvalidArgumentError(`QuantizedLinear.fromWeight: expected a weight of shape [out, in], got [${weight.shape.join(', ')}]`);
    return new this(weight.shape[1]!, weight.shape[0]!, PackedWeight.quantize(weight, config), bias, options);
  }

  /** Quantizes an nn Linear (which is left untouched). */
  static fromLinear(linear: Linear, config: WeightQuantConfig, options: QuantizedLinearOptions = {}): QuantizedLinear {
    if (!(linear instanceof Linear)) throw new InvalidArgumentError('QuantizedLinear.fromLinear: expected an nn Linear');
    return this.fromWeight(linear.weight, linear.bias, config, options);
  }

  dequantizeWeight(): Tensor {
    return this.packedWeight.dequantize();
  }

  // Same layout and matMul as the float layer it replaced (Conv1D: x·W[in, out]; Linear: x·W[out, in]ᵀ).
  protected buildForwardWeight(): Tensor {
    return this.fromFanInFanOut ? this.packedWeight.dequantizeTransposed() : this.packedWeight.dequantize();
  }

  /**
   * Lends the cached dequantized weight to fused kernels (DenseWeightSource), so a quantized GPT runs
   * the same one-call linear as the float model in its decode step. Only while the cache is wanted and
   * inputs are not fake-quantized (otherwise the forward is not a plain x·W + b).
   */
  denseWeight(): { weight: Tensor; bias: Tensor | null; transposed: boolean } | undefined {
    if (this.activation.mode !== 'none' || !cacheWanted(this.weightCache, this.training)) return undefined;
    return { weight: this.forwardWeight(), bias: this.bias, transposed: !this.fromFanInFanOut };
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new InvalidArgumentError(`QuantizedLinear: input must be [..., ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const w = this.forwardWeight();
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(quantizeInput(flat, this.activation), w, false, !this.fromFanInFanOut);
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}

/** QuantizedLinear with bitsandbytes NF4 (blocks of 64, double-quantized scales by default): QLoRA's base layer. */
export class Nf4Linear extends QuantizedLinear {
  static override fromLinear(linear: Linear, config: Partial<Omit<WeightQuantConfig, 'scheme'>> = {}, options: QuantizedLinearOptions = {}): Nf4Linear {
    return super.fromLinear(linear, { ...config, scheme: 'nf4' }, options) as Nf4Linear;
  }
  static override fromWeight(weight: Tensor, bias: Tensor | null, config: Partial<Omit<WeightQuantConfig, 'scheme'>> = {}, options: QuantizedLinearOptions = {}): Nf4Linear {
    return super.fromWeight(weight, bias, { ...config, scheme: 'nf4' }, options) as Nf4Linear;
  }
}

/** Geometry of a Conv2d (its padding is private in nn, read once here). */
export interface ConvGeometry {
  inChannels: number;
  outChannels: number;
  kernelSize: [number, number];
  stride: [number, number];
  dilation: [number, number];
  groups: number;
  dataFormat: DataFormat;
  /** [top, bottom, left, right] */
  padding: [number, number, number, number];
}

export function convGeometry(conv: Conv2d): ConvGeometry {
  const pad = (conv as unknown as { pad: [number, number, number, number] }).pad;
  return {
    inChannels: conv.inChannels, outChannels: conv.outChannels, kernelSize: [...conv.kernelSize], stride: [...conv.stride],
    dilation: [...conv.dilation], groups: conv.groups, dataFormat: conv.dataFormat, padding: [...pad],
  };
}

/** A new nn Conv2d with the same geometry (fresh weights; load them with loadStateDict). */
export function makeConv2d(g: ConvGeometry, outChannels = g.outChannels, inChannels = g.inChannels, bias = true): Conv2d {
  const [t, b, l, r] = g.padding;
  if (t !== b || l !== r) throw new InvalidArgumentError(`asymmetric conv padding [${g.padding.join(', ')}] cannot be rebuilt`);
  return new Conv2d(inChannels, outChannels, g.kernelSize, { stride: g.stride, dilation: g.dilation, groups: g.groups, dataFormat: g.dataFormat, padding: [t, l], bias, seed: 0 });
}

/** A Conv2d with a packed weight [out, in/groups, kh, kw], dequantized on the fly or cached (WeightCacheMode). */
export class QuantizedConv2d extends PackedWeightModule implements QuantizedModule {
  readonly bias: tf.Variable | null;
  readonly activation: ActivationQuant;
  constructor(readonly geometry: ConvGeometry, packedWeight: PackedWeight, bias: Tensor | null = null, options: QuantizedLinearOptions = {}) {
    super(packedWeight, options.weightCache);
    const g = geometry;
    const want = [g.outChannels, g.inChannels / g.groups, ...g.kernelSize];
    if (packedWeight.shape.length !== 4 || want.some((d, i) => d !== packedWeight.shape[i])) {
      throw new InvalidArgumentError(`QuantizedConv2d: packed weight has shape [${packedWeight.shape.join(', ')}], expected [${want.join(', ')}]`);
    }
    this.bias = bias ? this.registerParameter('bias', tf.clone(bias)) : null;
    this.activation = checkActivation(options.activation);
  }

  static fromConv2d(conv: Conv2d, config: WeightQuantConfig, options: QuantizedLinearOptions = {}): QuantizedConv2d {
    if (!(conv instanceof Conv2d)) throw new InvalidArgumentError('QuantizedConv2d.fromConv2d: expected an nn Conv2d');
    return new QuantizedConv2d(convGeometry(conv), PackedWeight.quantize(conv.weight, config), conv.bias, options);
  }

  dequantizeWeight(): Tensor {
    return this.packedWeight.dequantize();
  }

  protected buildForwardWeight(): Tensor {
    return this.packedWeight.dequantize();
  }

  forward(x: Tensor): Tensor {
    const g = this.geometry;
    const c = g.dataFormat === 'NHWC' ? 3 : 1;
    if (x.rank !== 4 || x.shape[c] !== g.inChannels) throw new InvalidArgumentError(`QuantizedConv2d: expected a rank-4 ${g.dataFormat} input with ${g.inChannels} channels, got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const w = this.forwardWeight();
      const xin = quantizeInput(toNHWC(x, g.dataFormat), this.activation);
      const y = conv2dTorch(xin, w, this.bias, { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups });
      return fromNHWC(y, g.dataFormat);
    });
  }
}

/** An Embedding whose table [num, dim] stays packed; only the looked-up rows are dequantized. */
export class QuantizedEmbedding extends Module implements QuantizedModule {
  readonly activation: ActivationQuant = { mode: 'none' };
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  constructor(readonly packedWeight: PackedWeight, readonly paddingIdx?: number) {
    super();
    if (packedWeight.shape.length !== 2) throw new InvalidArgumentError(`QuantizedEmbedding: expected a packed table [num, dim], got [${packedWeight.shape.join(', ')}]`);
    [this.numEmbeddings, this.embeddingDim] = packedWeight.shape as [number, number];
  }

  static fromEmbedding(emb: Embedding, config: WeightQuantConfig): QuantizedEmbedding {
    if (!(emb instanceof Embedding)) throw new InvalidArgumentError('QuantizedEmbedding.fromEmbedding: expected an nn Embedding');
    return new QuantizedEmbedding(PackedWeight.quantize(emb.weight, config), emb.options.paddingIdx);
  }

  dequantizeWeight(): Tensor {
    return this.packedWeight.dequantize();
  }

  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int32') throw new DTypeError(`QuantizedEmbedding: expected int32 indices, got ${indices.dtype}`);
    const ids = indices.dataSync();
    const d = this.embeddingDim;
    const out = new Float32Array(ids.length * d);
    const row = new Float32Array(d);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.numEmbeddings) throw new InvalidArgumentError(`QuantizedEmbedding: index ${id} is outside [0, ${this.numEmbeddings})`);
      if (id === this.paddingIdx) continue;
      this.packedWeight.dequantizeRange(id * d, (id + 1) * d, row);
      out.set(row, k * d);
    }
    return tensor(out, [...indices.shape, d], 'float32');
  }
}
