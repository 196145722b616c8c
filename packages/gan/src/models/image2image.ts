import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { Conv2d, InstanceNorm, Module, ModuleList, type Seed } from '@nutshell/nn';
import { leakyRelu2 } from '../activations.js';
import { generatorLoss, type GanLossKind } from '../losses.js';
import { FastConvTranspose2d } from '../upconv.js';

export interface UNetOptions {
  inChannels?: number;
  outChannels?: number;
  /** Feature maps of the first level (doubled per level, capped at 8×). */
  base?: number;
  /** Down/up levels; the input side must be divisible by 2^depth (default 2 for 28×28). */
  depth?: number;
  seed?: Seed;
}

/**
 * U-Net generator of pix2pix (Isola et al. 2017), scaled down: encoder Conv 4×4/2 → (InstanceNorm)
 * → LeakyReLU(0.2) per level, decoder ConvT 4×4/2 → InstanceNorm → ReLU with skip connections
 * (concatenation) to the mirrored encoder level, tanh output.
 */
export class UNetGenerator extends Module {
  readonly down: ModuleList;
  readonly up: ModuleList;
  readonly downNorms: ModuleList;
  readonly upNorms: ModuleList;
  readonly depth: number;
  constructor(readonly config: UNetOptions = {}) {
    super();
    const rng = rngFor(config.seed);
    const inC = config.inChannels ?? 1;
    const outC = config.outChannels ?? 1;
    const b = config.base ?? 32;
    this.depth = config.depth ?? 2;
    assertPositiveInt('UNetGenerator depth', this.depth);
    const widths = Array.from({ length: this.depth }, (_, i) => b * Math.min(8, 2 ** i));
    this.down = this.registerModule('down', new ModuleList(widths.map((w, i) => new Conv2d(i === 0 ? inC : widths[i - 1]!, w, 4, { stride: 2, padding: 1, seed: rng }))));
    this.downNorms = this.registerModule('down_norm', new ModuleList(widths.slice(1).map((w) => new InstanceNorm(w, { affine: true }))));
    // Up level j (from the bottom) maps widths[d-1-j] (+ skip) to widths[d-2-j] or outC.
    const ups: Module[] = [];
    const upNorms: Module[] = [];
    for (let j = 0; j < this.depth; j++) {
      const level = this.depth - 1 - j;
      const inW = j === 0 ? widths[level]! : 2 * widths[level]!;
      const outW = level === 0 ? outC : widths[level - 1]!;
      ups.push(new FastConvTranspose2d(inW, outW, 4, { stride: 2, padding: 1, seed: rng }));
      if (level > 0) upNorms.push(new InstanceNorm(outW, { affine: true }));
    }
    this.up = this.registerModule('up', new ModuleList(ups));
    this.upNorms = this.registerModule('up_norm', new ModuleList(upNorms));
  }
  forward(x: Tensor): Tensor {
    const f = 2 ** this.depth;
    if (x.rank !== 4 || x.shape[1]! % f || x.shape[2]! % f || x.shape[3] !== (this.config.inChannels ?? 1)) {
      throw new ShapeError(`UNetGenerator: expected NHWC input with ${this.config.inChannels ?? 1} channels and sides divisible by ${f}, got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const skips: Tensor[] = [];
      let h = x;
      for (let i = 0; i < this.depth; i++) {
        h = this.down.at(i).forward(h);
        if (i > 0) h = this.downNorms.at(i - 1).forward(h);
        h = leakyRelu2(h);
        skips.push(h);
      }
      for (let j = 0; j < this.depth; j++) {
        const level = this.depth - 1 - j;
        if (j > 0) h = tf.concat([h, skips[level]!], 3);
        h = this.up.at(j).forward(h);
        if (level > 0) h = tf.relu(this.upNorms.at(j).forward(h));
      }
      return tf.tanh(h);
    });
  }
}

export interface PatchGANOptions {
  /** Input channels (condition + image for pix2pix: e.g. 2 for grey → grey). */
  inChannels?: number;
  base?: number;
  /** Stride-2 layers (default 2). */
  layers?: number;
  /** 'instance' (default, as pix2pix) or 'none'. */
  norm?: 'instance' | 'none';
  seed?: Seed;
}

/**
 * PatchGAN discriminator (pix2pix): stride-2 Conv 4×4 layers with LeakyReLU(0.2) (InstanceNorm
 * after the first), then a 3×3 stride-1 conv to one logit per patch: [N, H/2^L, W/2^L, 1]. Each
 * logit's conv path sees a `receptiveField`-pixel square of the input (18 for the default 2
 * layers; InstanceNorm statistics still span the whole image).
 */
export class PatchGANDiscriminator extends Module {
  readonly convs: ModuleList;
  readonly norms: ModuleList;
  readonly out: Conv2d;
  readonly numLayers: number;
  constructor(readonly config: PatchGANOptions = {}) {
    super();
    const rng = rngFor(config.seed);
    const b = config.base ?? 32;
    this.numLayers = config.layers ?? 2;
    assertPositiveInt('PatchGANDiscriminator layers', this.numLayers);
    const widths = Array.from({ length: this.numLayers }, (_, i) => b * Math.min(8, 2 ** i));
    this.convs = this.registerModule('convs', new ModuleList(widths.map((w, i) => new Conv2d(i === 0 ? (config.inChannels ?? 2) : widths[i - 1]!, w, 4, { stride: 2, padding: 1, seed: rng }))));
    const useNorm = (config.norm ?? 'instance') === 'instance';
    if (!['instance', 'none'].includes(config.norm ?? 'instance')) throw new InvalidArgumentError(`PatchGANDiscriminator: norm must be instance or none, got ${JSON.stringify(config.norm)}`);
    this.norms = this.registerModule('norms', new ModuleList(useNorm ? widths.slice(1).map((w) => new InstanceNorm(w, { affine: true })) : []));
    this.out = this.registerModule('out', new Conv2d(widths.at(-1)!, 1, 3, { padding: 1, seed: rng }));
  }
  /** Side of the input square one output logit depends on. */
  get receptiveField(): number {
    return receptiveField([...Array.from({ length: this.numLayers }, () => ({ kernel: 4, stride: 2 })), { kernel: 3, stride: 1 }]);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.numLayers; i++) {
        h = this.convs.at(i).forward(h);
        if (i > 0 && this.norms.length) h = this.norms.at(i - 1).forward(h);
        h = leakyRelu2(h);
      }
      return this.out.forward(h);
    });
  }
}

/** Receptive field of a conv stack, first layer first: r ← (r − 1)·stride + kernel, from the output back. */
export function receptiveField(layers: { kernel: number; stride: number }[]): number {
  let r = 1;
  for (let i = layers.length - 1; i >= 0; i--) r = (r - 1) * layers[i]!.stride + layers[i]!.kernel;
  return r;
}

/** pix2pix generator objective: adversarial loss + λ·L1(fake, target), λ = 100 by default. */
export function pix2pixGeneratorLoss(dFakeOut: Tensor, fake: Tensor, target: Tensor, options: { lambda?: number; kind?: GanLossKind } = {}): Tensor {
  const lambda = options.lambda ?? 100;
  if (!(lambda >= 0)) throw new InvalidArgumentError(`pix2pixGeneratorLoss: lambda must be ≥ 0, got ${lambda}`);
  return tf.tidy(() => tf.add(generatorLoss(options.kind ?? 'non-saturating', dFakeOut), tf.mul(lambda, tf.mean(tf.abs(tf.sub(fake, target))))));
}

/** CycleGAN cycle-consistency loss: λ · E|x − F(G(x))|, λ = 10 by default. */
export function cycleConsistencyLoss(real: Tensor, reconstructed: Tensor, lambda = 10): Tensor {
  if (!(lambda >= 0)) throw new InvalidArgumentError(`cycleConsistencyLoss: lambda must be ≥ 0, got ${lambda}`);
  return tf.tidy(() => tf.mul(lambda, tf.mean(tf.abs(tf.sub(real, reconstructed)))));
}

/** CycleGAN identity loss: λ · E|y − G(y)| (the paper uses λ = 0.5·λ_cycle = 5). */
export function identityLoss(real: Tensor, mapped: Tensor, lambda = 5): Tensor {
  if (!(lambda >= 0)) throw new InvalidArgumentError(`identityLoss: lambda must be ≥ 0, got ${lambda}`);
  return tf.tidy(() => tf.mul(lambda, tf.mean(tf.abs(tf.sub(real, mapped)))));
}
