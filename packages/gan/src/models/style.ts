import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor, type Variable } from '@nutshell/core';
import { Module, ModuleList, conv2dTorch, init, type Parameter, type Seed } from '@nutshell/nn';
import { leakyRelu2 } from '../activations.js';

/** x / √(mean(x², last axis) + ε): StyleGAN's normalisation of z (and ProGAN's pixel norm). */
export function pixelNorm(x: Tensor, eps = 1e-8): Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))));
}

/**
 * Equalized learning rate (Karras et al. 2018): weights are stored N(0, 1/lrMul²) and scaled at
 * run time by lrMul/√fanIn (He's constant), so Adam's per-parameter steps are balanced across
 * layers. `lrMul` < 1 slows a layer (StyleGAN's mapping network uses 0.01).
 */
export class EqualizedLinear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly scale: number;
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly options: { lrMul?: number; biasInit?: number; bias?: boolean; seed?: Seed } = {}) {
    super();
    assertPositiveInt('EqualizedLinear inFeatures', inFeatures);
    assertPositiveInt('EqualizedLinear outFeatures', outFeatures);
    const lrMul = options.lrMul ?? 1;
    if (!(lrMul > 0)) throw new InvalidArgumentError(`EqualizedLinear: lrMul must be > 0, got ${lrMul}`);
    this.scale = lrMul / Math.sqrt(inFeatures);
    this.weight = this.registerParameter('weight', init.normal([outFeatures, inFeatures], 0, 1 / lrMul, rngFor(options.seed)));
    this.bias = options.bias === false ? null : this.registerParameter('bias', tf.fill([outFeatures], (options.biasInit ?? 0) / lrMul));
  }
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) throw new ShapeError(`EqualizedLinear: expected [..., ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const y = tf.matMul(x, tf.mul(this.weight, this.scale), false, true);
      return this.bias ? tf.add(y, tf.mul(this.bias, this.options.lrMul ?? 1)) : y;
    });
  }
}

/** Equalized-LR 2-D convolution (stride 1, 'same' padding, odd kernel), NHWC. */
export class EqualizedConv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly scale: number;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, options: { seed?: Seed } = {}) {
    super();
    if (!(Number.isInteger(kernel) && kernel % 2 === 1)) throw new InvalidArgumentError(`EqualizedConv2d: kernel must be odd, got ${kernel}`);
    this.scale = 1 / Math.sqrt(inChannels * kernel * kernel);
    this.weight = this.registerParameter('weight', init.normal([outChannels, inChannels, kernel, kernel], 0, 1, rngFor(options.seed)));
    this.bias = this.registerParameter('bias', tf.zeros([outChannels]));
  }
  forward(x: Tensor): Tensor {
    const p = (this.kernel - 1) / 2;
    return tf.tidy(() => conv2dTorch(x, tf.mul(this.weight, this.scale), this.bias, { stride: [1, 1], padding: [p, p, p, p], dilation: [1, 1], groups: 1 }));
  }
}

/** StyleGAN mapping network z → w: pixel norm, then `layers` equalized Linear + LeakyReLU(0.2) with lrMul 0.01. */
export class MappingNetwork extends Module {
  readonly layers: ModuleList;
  constructor(readonly zDim: number, readonly wDim: number, options: { layers?: number; lrMul?: number; seed?: Seed } = {}) {
    super();
    const rng = rngFor(options.seed);
    const n = options.layers ?? 8;
    assertPositiveInt('MappingNetwork layers', n);
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: n }, (_, i) => new EqualizedLinear(i === 0 ? zDim : wDim, wDim, { lrMul: options.lrMul ?? 0.01, seed: rng }))));
  }
  forward(z: Tensor): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.zDim) throw new ShapeError(`MappingNetwork: expected z [N, ${this.zDim}], got [${z.shape.join(', ')}]`);
    return tf.tidy(() => {
      let h = pixelNorm(z);
      for (const l of this.layers) h = leakyRelu2(l.forward(h));
      return h;
    });
  }
}

/**
 * Adaptive instance normalisation (Huang & Belongie 2017; StyleGAN): each sample's channels are
 * normalised over space, then scaled by `scale` [N, C] and shifted by `bias` [N, C]. NHWC.
 */
export function adaIN(x: Tensor, scale: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const [n, , , c] = x.shape;
  if (x.rank !== 4 || scale.shape[0] !== n || scale.shape[1] !== c || bias.shape[0] !== n || bias.shape[1] !== c) {
    throw new ShapeError(`adaIN: x [N, H, W, C] with scale and bias [N, C]; got x [${x.shape.join(', ')}], scale [${scale.shape.join(', ')}], bias [${bias.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    const xn = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(xn, tf.reshape(scale, [n!, 1, 1, c!])), tf.reshape(bias, [n!, 1, 1, c!]));
  });
}

/**
 * StyleGAN2's modulated convolution: per sample, w'ᵢⱼₖ = wᵢⱼₖ·sⱼ with s = affine(style) (bias
 * init 1), then demodulation w''ᵢⱼₖ = w'ᵢⱼₖ / √(Σⱼₖ w'²ᵢⱼₖ + ε), so unit-variance inputs give
 * unit-variance outputs. Stride 1, 'same' padding, NHWC; runs one conv per sample.
 */
export class ModulatedConv2d extends Module {
  readonly weight: Parameter;
  readonly affine: EqualizedLinear;
  readonly scale: number;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, readonly styleDim: number, readonly options: { demodulate?: boolean; seed?: Seed } = {}) {
    super();
    if (!(Number.isInteger(kernel) && kernel % 2 === 1)) throw new InvalidArgumentError(`ModulatedConv2d: kernel must be odd, got ${kernel}`);
    const rng = rngFor(options.seed);
    this.scale = 1 / Math.sqrt(inChannels * kernel * kernel);
    this.weight = this.registerParameter('weight', init.normal([outChannels, inChannels, kernel, kernel], 0, 1, rng));
    this.affine = this.registerModule('affine', new EqualizedLinear(styleDim, inChannels, { biasInit: 1, seed: rng }));
  }
  /** Per-sample weights [N, out, in, k, k] for styles [N, styleDim]. */
  modulatedWeights(style: Tensor): Tensor {
    return tf.tidy(() => {
      const s = this.affine.forward(style); // [N, in]
      const n = style.shape[0]!;
      let w = tf.mul(tf.expandDims(tf.mul(this.weight, this.scale), 0), tf.reshape(s, [n, 1, this.inChannels, 1, 1]));
      if (this.options.demodulate ?? true) w = tf.mul(w, tf.rsqrt(tf.add(tf.sum(tf.square(w), [2, 3, 4], true), 1e-8)));
      return w;
    });
  }
  forward(x: Tensor, style: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels || style.rank !== 2 || style.shape[0] !== x.shape[0] || style.shape[1] !== this.styleDim) {
      throw new ShapeError(`ModulatedConv2d: expected x [N, H, W, ${this.inChannels}] and style [N, ${this.styleDim}], got [${x.shape.join(', ')}] and [${style.shape.join(', ')}]`);
    }
    const p = (this.kernel - 1) / 2;
    return tf.tidy(() => {
      const w = this.modulatedWeights(style);
      const xs = tf.split(x, x.shape[0]!, 0);
      const ws = tf.split(w, x.shape[0]!, 0);
      return tf.concat(xs.map((xi, i) => conv2dTorch(xi, tf.squeeze(ws[i]!, [0]), null, { stride: [1, 1], padding: [p, p, p, p], dilation: [1, 1], groups: 1 })), 0);
    });
  }
}

/** Per-pixel noise input scaled by a learned per-channel strength (zero at init). */
export class NoiseInjection extends Module {
  readonly weight: Parameter;
  constructor(readonly channels: number) {
    super();
    this.weight = this.registerParameter('weight', tf.zeros([channels]));
  }
  forward(x: Tensor, noise: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, tf.mul(noise, this.weight)));
  }
}

/** Truncation trick: w̄ + ψ·(w − w̄). ψ = 1 returns w unchanged; ψ = 0 returns the average. */
export function truncate(w: Tensor, wAvg: Tensor, psi: number): Tensor {
  if (!(psi >= 0)) throw new InvalidArgumentError(`truncate: psi must be ≥ 0, got ${psi}`);
  if (psi === 1) return tf.clone(w);
  return tf.tidy(() => tf.add(wAvg, tf.mul(tf.sub(w, wAvg), psi)));
}

/** Style mixing: per-layer styles [N, layers, wDim], `a` for layers < crossover, `b` from there on. */
export function mixStyles(a: Tensor, b: Tensor, numLayers: number, crossover: number): Tensor {
  if (!(Number.isInteger(crossover) && crossover >= 0 && crossover <= numLayers)) throw new InvalidArgumentError(`mixStyles: crossover must be an integer in [0, ${numLayers}], got ${crossover}`);
  return tf.tidy(() => tf.stack(Array.from({ length: numLayers }, (_, i) => (i < crossover ? a : b)), 1));
}

/** Nearest-neighbour 2× upsampling of NHWC images. */
export function upsample2x(x: Tensor): Tensor {
  return tf.tidy(() => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [x.shape[1]! * 2, x.shape[2]! * 2]));
}

/**
 * ProGAN fade-in: while a new resolution block is blended in, the output is
 * (1 − α)·upsample(previous-resolution output) + α·new block's output. α = 0 gives exactly the
 * upsampled previous resolution; α = 1 only the new block.
 */
export function fadeIn(alpha: number, previous: Tensor, current: Tensor): Tensor {
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`fadeIn: alpha must be in [0, 1], got ${alpha}`);
  return tf.tidy(() => {
    const up = upsample2x(previous);
    if (up.shape.some((d, i) => d !== current.shape[i])) throw new ShapeError(`fadeIn: upsampled previous [${up.shape.join(', ')}] does not match current [${current.shape.join(', ')}]`);
    return tf.add(tf.mul(up, 1 - alpha), tf.mul(current, alpha));
  });
}

export interface StyleGeneratorOptions {
  zDim?: number;
  wDim?: number;
  mappingLayers?: number;
  /** Feature maps at every resolution. */
  channels?: number;
  outChannels?: number;
  seed?: Seed;
}

/**
 * StyleGAN-lite for 28×28: mapping network z → w, a learned 7×7 constant, then per resolution
 * (7, 14, 28) a modulated 3×3 conv + noise + LeakyReLU, nearest upsampling between them and an
 * unmodulated-demodulation 1×1 toRGB with tanh. Three style inputs (one per resolution), so style
 * mixing and truncation apply per layer. Tracks w̄ (EMA of w during training) for truncation.
 */
export class StyleGenerator extends Module {
  readonly mapping: MappingNetwork;
  readonly constInput: Parameter;
  readonly convs: ModuleList;
  readonly noises: ModuleList;
  readonly toRgb: ModulatedConv2d;
  readonly wAvg: Variable;
  readonly numStyles = 3;
  readonly zDim: number;
  readonly wDim: number;
  constructor(readonly config: StyleGeneratorOptions = {}) {
    super();
    const rng = rngFor(config.seed);
    this.zDim = config.zDim ?? 32;
    this.wDim = config.wDim ?? 32;
    const c = config.channels ?? 32;
    this.mapping = this.registerModule('mapping', new MappingNetwork(this.zDim, this.wDim, { layers: config.mappingLayers ?? 4, seed: rng }));
    this.constInput = this.registerParameter('const', init.normal([1, 7, 7, c], 0, 1, rng));
    this.convs = this.registerModule('convs', new ModuleList(Array.from({ length: 3 }, () => new ModulatedConv2d(c, c, 3, this.wDim, { seed: rng }))));
    this.noises = this.registerModule('noises', new ModuleList(Array.from({ length: 3 }, () => new NoiseInjection(c))));
    this.toRgb = this.registerModule('to_rgb', new ModulatedConv2d(c, config.outChannels ?? 1, 1, this.wDim, { demodulate: false, seed: rng }));
    this.wAvg = this.registerBuffer('w_avg', tf.zeros([this.wDim]));
  }

  /** Synthesis from per-layer styles [N, 3, wDim] (or one w [N, wDim] for all layers). */
  synthesize(ws: Tensor, options: { noiseSeed?: number } = {}): Tensor {
    return tf.tidy(() => {
      const n = ws.shape[0]!;
      const per = ws.rank === 2 ? Array.from({ length: 3 }, () => ws) : tf.unstack(ws, 1);
      let h: Tensor = tf.tile(this.constInput, [n, 1, 1, 1]);
      const rng = rngFor(options.noiseSeed ?? 0);
      for (let i = 0; i < 3; i++) {
        if (i > 0) h = upsample2x(h);
        h = (this.convs.at(i) as ModulatedConv2d).forward(h, per[i]!);
        h = (this.noises.at(i) as NoiseInjection).forward(h, rng.normalTensor([n, h.shape[1]!, h.shape[2]!, 1]));
        h = leakyRelu2(h);
      }
      return tf.tanh(this.toRgb.forward(h, per[2]!));
    });
  }

  /**
   * z [N, zDim] → images. `psi` < 1 truncates towards w̄; `mix` = { z2, crossover } uses z2's w from
   * layer `crossover` on. In training mode w̄ tracks the batch mean of w (decay 0.995).
   */
  forward(z: Tensor, options: { psi?: number; mix?: { z: Tensor; crossover: number }; noiseSeed?: number } = {}): Tensor {
    return tf.tidy(() => {
      let w = this.mapping.forward(z);
      if (this.training) this.wAvg.assign(tf.add(tf.mul(this.wAvg, 0.995), tf.mul(tf.mean(w, 0), 0.005)));
      const psi = options.psi ?? 1;
      w = truncate(w, this.wAvg, psi);
      let ws = w;
      if (options.mix) ws = mixStyles(w, truncate(this.mapping.forward(options.mix.z), this.wAvg, psi), this.numStyles, options.mix.crossover);
      return this.synthesize(ws, { noiseSeed: options.noiseSeed });
    });
  }
}
