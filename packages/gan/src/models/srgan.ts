import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { BatchNorm2d, Conv2d, Linear, Module, ModuleList, type Parameter, type Seed } from '@nutshell/nn';
import { leakyRelu2 } from '../activations.js';
import { generatorLoss, type GanLossKind } from '../losses.js';

/**
 * Sub-pixel convolution's rearrangement (Shi et al. 2016; torch.nn.PixelShuffle) in NHWC:
 * [N, H, W, C·r²] → [N, H·r, W·r, C], where input channel c·r² + i·r + j lands on pixel
 * (h·r + i, w·r + j) of output channel c — PyTorch's order, so converted weights keep working
 * (TF's depth_to_space orders channels differently). Reshapes and a transpose only, so twice
 * differentiable.
 */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  assertPositiveInt('pixelShuffle factor', r);
  if (x.rank !== 4 || x.shape[3]! % (r * r) !== 0) throw new ShapeError(`pixelShuffle: expected NHWC input with channels divisible by ${r * r}, got [${x.shape.join(', ')}]`);
  const [n, h, w, cr] = x.shape as [number, number, number, number];
  const c = cr / (r * r);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, c, r, r]), [0, 1, 4, 2, 5, 3]), [n, h * r, w * r, c]));
}

/** Module form of `pixelShuffle`. */
export class PixelShuffle extends Module {
  constructor(readonly factor: number) {
    super();
    assertPositiveInt('PixelShuffle factor', factor);
  }
  forward(x: Tensor): Tensor {
    return pixelShuffle(x, this.factor);
  }
}

/** Parametric ReLU with one learned slope per channel (last axis), initialised to 0.25 as torch.nn.PReLU. */
export class PReLU extends Module {
  readonly weight: Parameter;
  constructor(readonly channels: number, init = 0.25) {
    super();
    assertPositiveInt('PReLU channels', channels);
    this.weight = this.registerParameter('weight', tf.fill([channels], init));
  }
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.channels) throw new ShapeError(`PReLU: expected ${this.channels} channels in the last axis, got [${x.shape.join(', ')}]`);
    return tf.tidy(() => tf.sub(tf.relu(x), tf.mul(this.weight, tf.relu(tf.neg(x)))));
  }
}

/** SRResNet residual block: conv 3×3 → BN → PReLU → conv 3×3 → BN, plus the input. */
class ResidualBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly act: PReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  constructor(ch: number, rng: Seed) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(ch, ch, 3, { padding: 1, seed: rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(ch));
    this.act = this.registerModule('act', new PReLU(ch));
    this.conv2 = this.registerModule('conv2', new Conv2d(ch, ch, 3, { padding: 1, seed: rng }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(ch));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, this.bn2.forward(this.conv2.forward(this.act.forward(this.bn1.forward(this.conv1.forward(x)))))));
  }
}

/** ×2 sub-pixel upsampling: conv 3×3 to 4·C channels → PixelShuffle(2) → PReLU. */
class UpsampleBlock extends Module {
  readonly conv: Conv2d;
  readonly act: PReLU;
  constructor(ch: number, rng: Seed) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(ch, 4 * ch, 3, { padding: 1, seed: rng }));
    this.act = this.registerModule('act', new PReLU(ch));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.act.forward(pixelShuffle(this.conv.forward(x), 2)));
  }
}

export interface SRGANGeneratorOptions {
  /** Upscaling factor: 2 or 4 (one sub-pixel ×2 block per factor of 2). */
  scale?: 2 | 4;
  /** Feature maps (the paper: 64). */
  channels?: number;
  /** Residual blocks (the paper: 16). */
  blocks?: number;
  imageChannels?: number;
  seed?: Seed;
}

/**
 * SRGAN's generator, SRResNet (Ledig et al. 2017), with the paper's layout at a CPU size: conv 9×9 →
 * PReLU; B residual blocks (conv–BN–PReLU–conv–BN + skip); conv 3×3 → BN plus the long skip;
 * log₂(scale) sub-pixel blocks (conv → PixelShuffle ×2 → PReLU); conv 9×9 → tanh. NHWC images in
 * [−1, 1]: low-resolution [N, h, w, C] → [N, h·scale, w·scale, C].
 */
export class SRGANGenerator extends Module {
  readonly scale: 2 | 4;
  readonly head: Conv2d;
  readonly headAct: PReLU;
  readonly body: ModuleList;
  readonly bodyConv: Conv2d;
  readonly bodyBn: BatchNorm2d;
  readonly upsample: ModuleList;
  readonly tail: Conv2d;
  constructor(readonly config: SRGANGeneratorOptions = {}) {
    super();
    this.scale = config.scale ?? 4;
    if (this.scale !== 2 && this.scale !== 4) throw new InvalidArgumentError(`SRGANGenerator: scale must be 2 or 4, got ${config.scale}`);
    const ch = config.channels ?? 32;
    const nBlocks = config.blocks ?? 4;
    assertPositiveInt('SRGANGenerator channels', ch);
    assertPositiveInt('SRGANGenerator blocks', nBlocks);
    const img = config.imageChannels ?? 1;
    const rng = rngFor(config.seed);
    this.head = this.registerModule('head', new Conv2d(img, ch, 9, { padding: 4, seed: rng }));
    this.headAct = this.registerModule('head_act', new PReLU(ch));
    this.body = this.registerModule('body', new ModuleList(Array.from({ length: nBlocks }, () => new ResidualBlock(ch, rng))));
    this.bodyConv = this.registerModule('body_conv', new Conv2d(ch, ch, 3, { padding: 1, seed: rng }));
    this.bodyBn = this.registerModule('body_bn', new BatchNorm2d(ch));
    this.upsample = this.registerModule('upsample', new ModuleList(Array.from({ length: Math.log2(this.scale) }, () => new UpsampleBlock(ch, rng))));
    this.tail = this.registerModule('tail', new Conv2d(ch, img, 9, { padding: 4, seed: rng }));
  }
  forward(lr: Tensor): Tensor {
    const img = this.config.imageChannels ?? 1;
    if (lr.rank !== 4 || lr.shape[3] !== img) throw new ShapeError(`SRGANGenerator: expected low-resolution images [N, h, w, ${img}], got [${lr.shape.join(', ')}]`);
    return tf.tidy(() => {
      const h0 = this.headAct.forward(this.head.forward(lr));
      let h = h0;
      for (const b of this.body) h = b.forward(h);
      h = tf.add(h0, this.bodyBn.forward(this.bodyConv.forward(h)));
      for (const u of this.upsample) h = u.forward(h);
      return tf.tanh(this.tail.forward(h));
    });
  }
}

export interface SRGANDiscriminatorOptions {
  /** High-resolution side (divisible by 4); 28 for MNIST. */
  imageSize?: number;
  imageChannels?: number;
  /** Feature maps of the first conv (the paper: 64, doubled every other layer). */
  channels?: number;
  /** Width of the dense layer (the paper: 1024). */
  dense?: number;
  seed?: Seed;
}

/**
 * SRGAN's discriminator at MNIST size: conv 3×3 → LReLU(0.2), then conv 3×3 / stride 2 → BN →
 * LReLU, conv 3×3 → BN → LReLU (doubled channels), conv 3×3 / stride 2 → BN → LReLU; dense →
 * LReLU → dense → one logit. (The paper repeats the stride pattern down to 1/16 of a 96×96 crop.)
 */
export class SRGANDiscriminator extends Module {
  readonly convs: ModuleList;
  readonly norms: ModuleList;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly imageSize: number;
  private readonly strides: number[];
  constructor(readonly config: SRGANDiscriminatorOptions = {}) {
    super();
    this.imageSize = config.imageSize ?? 28;
    if (!(Number.isInteger(this.imageSize) && this.imageSize > 0 && this.imageSize % 4 === 0)) throw new InvalidArgumentError(`SRGANDiscriminator: imageSize must be a positive multiple of 4, got ${config.imageSize}`);
    const c = config.channels ?? 32;
    assertPositiveInt('SRGANDiscriminator channels', c);
    const rng = rngFor(config.seed);
    const widths = [c, c, 2 * c, 2 * c];
    this.strides = [1, 2, 1, 2];
    const ins = [config.imageChannels ?? 1, ...widths.slice(0, -1)];
    this.convs = this.registerModule('convs', new ModuleList(widths.map((w, i) => new Conv2d(ins[i]!, w, 3, { stride: this.strides[i]!, padding: 1, seed: rng }))));
    this.norms = this.registerModule('norms', new ModuleList(widths.slice(1).map((w) => new BatchNorm2d(w))));
    const side = this.imageSize / 4;
    this.fc1 = this.registerModule('fc1', new Linear(side * side * 2 * c, config.dense ?? 128, { seed: rng }));
    this.fc2 = this.registerModule('fc2', new Linear(config.dense ?? 128, 1, { seed: rng }));
  }
  forward(x: Tensor): Tensor {
    const s = this.imageSize;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== (this.config.imageChannels ?? 1)) throw new ShapeError(`SRGANDiscriminator: expected images [N, ${s}, ${s}, ${this.config.imageChannels ?? 1}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.convs.length; i++) {
        h = this.convs.at(i).forward(h);
        if (i > 0) h = this.norms.at(i - 1).forward(h);
        h = leakyRelu2(h);
      }
      return this.fc2.forward(leakyRelu2(this.fc1.forward(tf.reshape(h, [x.shape[0]!, -1]))));
    });
  }
}

export interface ContentLossOptions {
  /** Weight of the pixel-space MSE (default 1). */
  pixelWeight?: number;
  /**
   * A differentiable feature network φ (the paper: VGG19's conv5_4); adds featureWeight·MSE(φ(sr), φ(hr)).
   * Any network fits, e.g. @nutshell/metrics' MNIST feature net for digits.
   */
  features?: (x: Tensor) => Tensor;
  /** Weight of the feature-space MSE (default 1; the paper rescales VGG features by 1/12.75 instead). */
  featureWeight?: number;
}

/** SRGAN content loss: pixelWeight·MSE(sr, hr) + featureWeight·MSE(φ(sr), φ(hr)). */
export function srganContentLoss(sr: Tensor, hr: Tensor, options: ContentLossOptions = {}): Tensor {
  if (sr.shape.length !== hr.shape.length || sr.shape.some((d, i) => d !== hr.shape[i])) throw new ShapeError(`srganContentLoss: sr [${sr.shape.join(', ')}] and hr [${hr.shape.join(', ')}] must have the same shape`);
  const pw = options.pixelWeight ?? 1;
  const fw = options.features ? (options.featureWeight ?? 1) : 0;
  if (!(pw >= 0 && fw >= 0)) throw new InvalidArgumentError('srganContentLoss: weights must be ≥ 0');
  return tf.tidy(() => {
    let loss: Tensor = tf.mul(pw, tf.mean(tf.squaredDifference(sr, hr)));
    if (options.features && fw > 0) loss = tf.add(loss, tf.mul(fw, tf.mean(tf.squaredDifference(options.features(sr), options.features(hr)))));
    return loss;
  });
}

/**
 * SRGAN perceptual loss for the generator: content loss + adversarialWeight·adversarial loss
 * (default 1e-3 and the non-saturating −log D(G(lr)), as the paper).
 */
export function srganGeneratorLoss(dFake: Tensor, sr: Tensor, hr: Tensor, options: ContentLossOptions & { adversarialWeight?: number; kind?: GanLossKind } = {}): Tensor {
  const aw = options.adversarialWeight ?? 1e-3;
  if (!(aw >= 0)) throw new InvalidArgumentError(`srganGeneratorLoss: adversarialWeight must be ≥ 0, got ${aw}`);
  return tf.tidy(() => tf.add(srganContentLoss(sr, hr, options), tf.mul(aw, generatorLoss(options.kind ?? 'non-saturating', dFake))));
}
