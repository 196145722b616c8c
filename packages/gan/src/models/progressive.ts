import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { Module, ModuleList, type Seed } from '@nutshell/nn';
import { leakyRelu2 } from '../activations.js';
import { MinibatchStdDev } from '../minibatch.js';
import { EqualizedConv2d, EqualizedLinear, fadeIn, pixelNorm } from './style.js';

export interface ProgressiveOptions {
  /** Feature maps per resolution, lowest first: 4, 8, 16, 32, … (default [64, 64, 32, 16] → up to 32×32). */
  channels?: number[];
  /** Image channels (1 for MNIST). */
  imageChannels?: number;
  seed?: Seed;
}

function checkChannels(what: string, channels: number[]): void {
  if (!Array.isArray(channels) || channels.length < 1) throw new InvalidArgumentError(`${what}: channels must list at least one resolution`);
  channels.forEach((c, i) => assertPositiveInt(`${what} channels[${i}]`, c));
}

/**
 * Progressive-growing generator (Karras et al. 2018, ProGAN), sized for MNIST: z → pixel norm →
 * equalized Linear to 4×4 → LReLU → PN → conv 3×3 → LReLU → PN; each further resolution doubles
 * the side (nearest upsampling) then conv 3×3 → LReLU → PN twice. Every resolution has its own
 * 1×1 toRGB. During a transition the output is (1 − α)·upsample(toRGB_old(h_old)) +
 * α·toRGB_new(block(h_old)) (`fadeIn`). All layers use the equalized learning rate; the output is
 * linear (no tanh), as in the paper. Every block exists from construction on, so parameter names
 * are stable across `grow()` and one optimizer can hold them all (unused blocks get no gradient).
 */
export class ProgressiveGenerator extends Module {
  readonly growth: GrowthState;
  readonly input: EqualizedLinear;
  readonly blocks: ModuleList;
  readonly toRgb: ModuleList;
  readonly channels: number[];
  constructor(readonly latentDim: number, readonly config: ProgressiveOptions = {}) {
    super();
    assertPositiveInt('ProgressiveGenerator latentDim', latentDim);
    this.channels = config.channels ?? [64, 64, 32, 16];
    checkChannels('ProgressiveGenerator', this.channels);
    const rng = rngFor(config.seed);
    const c = this.channels;
    const img = config.imageChannels ?? 1;
    this.growth = new GrowthState(c.length, 'ProgressiveGenerator');
    this.input = this.registerModule('input', new EqualizedLinear(latentDim, 16 * c[0]!, { seed: rng }));
    this.blocks = this.registerModule('blocks', new ModuleList(c.map((ch, i) => new ConvPair(i === 0 ? ch : c[i - 1]!, ch, i === 0 ? 1 : 2, true, rng))));
    this.toRgb = this.registerModule('to_rgb', new ModuleList(c.map((ch) => new EqualizedConv2d(ch, img, 1, { seed: rng }))));
  }
  get stage(): number { return this.growth.stage; }
  get alpha(): number { return this.growth.alpha; }
  set alpha(a: number) { this.growth.alpha = a; }
  get resolution(): number { return this.growth.resolution; }
  grow(): void { this.growth.grow(); }
  setStage(stage: number, alpha = 1): void { this.growth.setStage(stage, alpha); }

  /** Feature maps after block `stage` (fully grown path, no fade). */
  features(z: Tensor, stage = this.stage): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) throw new ShapeError(`ProgressiveGenerator: expected z [N, ${this.latentDim}], got [${z.shape.join(', ')}]`);
    return tf.tidy(() => {
      let h = leakyRelu2(this.input.forward(pixelNorm(z)));
      h = pixelNorm(tf.reshape(h, [z.shape[0]!, 4, 4, this.channels[0]!]));
      for (let i = 0; i <= stage; i++) h = (this.blocks.at(i) as ConvPair).forward(i === 0 ? h : upsampleNearest(h));
      return h;
    });
  }

  forward(z: Tensor): Tensor {
    const s = this.stage;
    return tf.tidy(() => {
      if (s === 0 || this.alpha === 1) return this.toRgb.at(s).forward(this.features(z, s));
      const prev = this.features(z, s - 1);
      const cur = (this.blocks.at(s) as ConvPair).forward(upsampleNearest(prev));
      return fadeIn(this.alpha, this.toRgb.at(s - 1).forward(prev), this.toRgb.at(s).forward(cur));
    });
  }

  override extraState(): Record<string, unknown> {
    return { ...super.extraState(), ...this.growth.state() };
  }
  override loadExtraState(state: Record<string, unknown>): void {
    super.loadExtraState(state);
    this.growth.load(state);
  }
}

/**
 * ProGAN discriminator, the mirror of `ProgressiveGenerator`: per resolution a 1×1 fromRGB, then
 * conv 3×3 → LReLU → conv 3×3 → LReLU → 2×2 average pool down to the next lower resolution; at
 * 4×4 the minibatch standard deviation channel (group 4), conv 3×3 → LReLU, an equalized Linear
 * over the 4×4 map (the paper's 4×4 conv) → LReLU → Linear → one score. During a transition the
 * input enters as (1 − α)·fromRGB_old(avgpool(x)) + α·block(fromRGB_new(x)). Images larger than
 * the current resolution are average-pooled down to it, so full-size real batches can be fed.
 */
export class ProgressiveDiscriminator extends Module {
  readonly growth: GrowthState;
  readonly fromRgb: ModuleList;
  readonly blocks: ModuleList;
  readonly mbstd: MinibatchStdDev;
  readonly final: EqualizedConv2d;
  readonly dense: EqualizedLinear;
  readonly out: EqualizedLinear;
  readonly channels: number[];
  constructor(readonly config: ProgressiveOptions & { groupSize?: number } = {}) {
    super();
    this.channels = config.channels ?? [64, 64, 32, 16];
    checkChannels('ProgressiveDiscriminator', this.channels);
    const rng = rngFor(config.seed);
    const c = this.channels;
    const img = config.imageChannels ?? 1;
    this.growth = new GrowthState(c.length, 'ProgressiveDiscriminator');
    this.fromRgb = this.registerModule('from_rgb', new ModuleList(c.map((ch) => new EqualizedConv2d(img, ch, 1, { seed: rng }))));
    // blocks[i − 1] takes resolution 4·2^i (c[i] maps) to c[i − 1] maps; pooling follows it.
    this.blocks = this.registerModule('blocks', new ModuleList(c.slice(1).map((ch, i) => new ConvPair(ch, c[i]!, 2, false, rng))));
    this.mbstd = this.registerModule('mbstd', new MinibatchStdDev(config.groupSize ?? 4));
    this.final = this.registerModule('final', new EqualizedConv2d(c[0]! + 1, c[0]!, 3, { seed: rng }));
    this.dense = this.registerModule('dense', new EqualizedLinear(16 * c[0]!, c[0]!, { seed: rng }));
    this.out = this.registerModule('out', new EqualizedLinear(c[0]!, 1, { seed: rng }));
  }
  get stage(): number { return this.growth.stage; }
  get alpha(): number { return this.growth.alpha; }
  set alpha(a: number) { this.growth.alpha = a; }
  get resolution(): number { return this.growth.resolution; }
  grow(): void { this.growth.grow(); }
  setStage(stage: number, alpha = 1): void { this.growth.setStage(stage, alpha); }

  forward(x: Tensor): Tensor {
    const r = this.resolution;
    const img = this.config.imageChannels ?? 1;
    if (x.rank !== 4 || x.shape[3] !== img || x.shape[1] !== x.shape[2] || x.shape[1]! < r || x.shape[1]! % r !== 0) {
      throw new ShapeError(`ProgressiveDiscriminator: expected square images [N, S, S, ${img}] with S a multiple of ${r}, got [${x.shape.join(', ')}]`);
    }
    const s = this.stage;
    return tf.tidy(() => {
      const xi = poolBy(x, x.shape[1]! / r);
      let h = leakyRelu2(this.fromRgb.at(s).forward(xi));
      if (s > 0) {
        h = downsample((this.blocks.at(s - 1) as ConvPair).forward(h));
        if (this.alpha < 1) {
          const old = leakyRelu2(this.fromRgb.at(s - 1).forward(downsample(xi)));
          h = tf.add(tf.mul(old, 1 - this.alpha), tf.mul(h, this.alpha));
        }
        for (let i = s - 1; i >= 1; i--) h = downsample((this.blocks.at(i - 1) as ConvPair).forward(h));
      }
      h = leakyRelu2(this.final.forward(this.mbstd.forward(h)));
      h = leakyRelu2(this.dense.forward(tf.reshape(h, [x.shape[0]!, -1])));
      return this.out.forward(h);
    });
  }

  override extraState(): Record<string, unknown> {
    return { ...super.extraState(), ...this.growth.state() };
  }
  override loadExtraState(state: Record<string, unknown>): void {
    super.loadExtraState(state);
    this.growth.load(state);
  }
}

/** Stage and fade-in α of a progressive network (plain state, not a Module: no parameters). */
export class GrowthState {
  stage = 0;
  private a = 1;
  constructor(readonly stages: number, readonly owner: string) {}
  get alpha(): number {
    return this.a;
  }
  set alpha(a: number) {
    if (!(a >= 0 && a <= 1)) throw new InvalidArgumentError(`${this.owner}: alpha must be in [0, 1], got ${a}`);
    this.a = a;
  }
  /** Current side: 4·2^stage. */
  get resolution(): number {
    return 4 * 2 ** this.stage;
  }
  /** Moves to the next resolution, faded in from α = 0. */
  grow(): void {
    if (this.stage + 1 >= this.stages) throw new InvalidArgumentError(`${this.owner}: already at the largest resolution (${this.resolution}×${this.resolution})`);
    this.stage++;
    this.alpha = 0;
  }
  setStage(stage: number, alpha = 1): void {
    if (!(Number.isInteger(stage) && stage >= 0 && stage < this.stages)) throw new InvalidArgumentError(`${this.owner}: stage must be an integer in [0, ${this.stages - 1}], got ${stage}`);
    this.stage = stage;
    this.alpha = alpha;
  }
  state(): { stage: number; alpha: number } {
    return { stage: this.stage, alpha: this.a };
  }
  load(state: Record<string, unknown>): void {
    if (typeof state.stage === 'number') this.setStage(state.stage, typeof state.alpha === 'number' ? state.alpha : 1);
  }
}

/** One or two equalized 3×3 convs with LeakyReLU(0.2), each followed by pixel norm when `pn` (G). */
class ConvPair extends Module {
  readonly conv1: EqualizedConv2d;
  readonly conv2: EqualizedConv2d | null;
  constructor(inC: number, outC: number, count: 1 | 2, readonly pn: boolean, rng: Seed) {
    super();
    // D blocks keep the input width in the first conv (c[i] → c[i] → c[i−1]); G blocks widen first.
    const mid = pn ? outC : inC;
    this.conv1 = this.registerModule('conv1', new EqualizedConv2d(inC, count === 1 ? outC : mid, 3, { seed: rng }));
    this.conv2 = count === 2 ? this.registerModule('conv2', new EqualizedConv2d(mid, outC, 3, { seed: rng })) : null;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const act = (t: Tensor) => (this.pn ? pixelNorm(leakyRelu2(t)) : leakyRelu2(t));
      const h = act(this.conv1.forward(x));
      return this.conv2 ? act(this.conv2.forward(h)) : h;
    });
  }
}

/**
 * Real images as ProGAN shows them to D: average-pooled to `resolution` and, during a transition
 * (α < 1), blended with their lower-resolution version like the generator's output:
 * (1 − α)·upsample(avgpool(x)) + α·x. Use as GanTrainer's `transformReal`.
 */
export function progressiveReals(x: Tensor, resolution: number, alpha = 1): Tensor {
  if (x.rank !== 4 || x.shape[1] !== x.shape[2] || x.shape[1]! % resolution !== 0) throw new ShapeError(`progressiveReals: expected square images with a side that is a multiple of ${resolution}, got [${x.shape.join(', ')}]`);
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`progressiveReals: alpha must be in [0, 1], got ${alpha}`);
  return tf.tidy(() => {
    const f = x.shape[1]! / resolution;
    const xr = f === 1 ? tf.clone(x) : poolBy(x, f);
    if (alpha === 1 || resolution < 8) return xr;
    return tf.add(tf.mul(upsampleNearest(downsample(xr)), 1 - alpha), tf.mul(xr, alpha));
  });
}

function upsampleNearest(x: Tensor): Tensor {
  return tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [x.shape[1]! * 2, x.shape[2]! * 2]);
}

/**
 * f×f average pooling as reshape + mean: tfjs' AvgPoolGrad has no gradient of its own, and a
 * gradient penalty differentiates D's input gradient once more.
 */
function poolBy(x: Tensor, f: number): Tensor {
  if (f === 1) return x;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return tf.mean(tf.reshape(x, [n, h / f, f, w / f, f, c]), [2, 4]);
}

function downsample(x: Tensor): Tensor {
  return poolBy(x, 2);
}
