import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { BatchNorm1d, BatchNorm2d, Conv2d, LayerNorm, Linear, Module, ReLU, Sequential, SpectralNorm, type Seed } from '@nutshell/nn';
import { GanLeakyReLU, leakyRelu2 } from '../activations.js';
import { MinibatchStdDev } from '../minibatch.js';
import { FastConvTranspose2d } from '../upconv.js';

/** Normalisation inside a discriminator. Gradient penalties need 'none' or 'layer' (no batch coupling). */
export type DNorm = 'batch' | 'layer' | 'none';

export interface DCGANGeneratorOptions {
  latentDim?: number;
  /** Output channels (1 for MNIST). */
  channels?: number;
  /** Width: feature maps of the last hidden layer (default 64; the first has 2×). */
  width?: number;
  /** Output side: 28 (MNIST, 7→14→28) or 32 (8→16→32). */
  imageSize?: 28 | 32;
  seed?: Seed;
}

/** Standard-normal latent noise [n, dim] from a seeded stream. */
export function sampleLatent(n: number, dim: number, rng: import('@nutshell/core').Rng): Tensor {
  return rng.normalTensor([n, dim]);
}

/**
 * DCGAN generator (Radford et al. 2016) sized for 28×28: z → Linear → [s/4, s/4, 2w] → BN → ReLU →
 * ConvT 4×4/2 → [s/2, s/2, w] → BN → ReLU → ConvT 4×4/2 → [s, s, C] → tanh. NHWC output in [−1, 1].
 */
export class DCGANGenerator extends Module {
  readonly latentDim: number;
  readonly base: number;
  readonly width: number;
  readonly project: Linear;
  readonly bn0: BatchNorm1d;
  readonly up1: FastConvTranspose2d;
  readonly bn1: BatchNorm2d;
  readonly up2: FastConvTranspose2d;
  constructor(readonly config: DCGANGeneratorOptions = {}) {
    super();
    this.latentDim = config.latentDim ?? 64;
    this.width = config.width ?? 64;
    const size = config.imageSize ?? 28;
    if (size !== 28 && size !== 32) throw new InvalidArgumentError(`DCGANGenerator: imageSize must be 28 or 32, got ${size}`);
    assertPositiveInt('DCGANGenerator latentDim', this.latentDim);
    assertPositiveInt('DCGANGenerator width', this.width);
    this.base = size / 4;
    const rng = rngFor(config.seed);
    const w2 = 2 * this.width;
    this.project = this.registerModule('project', new Linear(this.latentDim, this.base * this.base * w2, { bias: false, seed: rng }));
    this.bn0 = this.registerModule('bn0', new BatchNorm1d(this.base * this.base * w2));
    this.up1 = this.registerModule('up1', new FastConvTranspose2d(w2, this.width, 4, { stride: 2, padding: 1, bias: false, seed: rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(this.width));
    this.up2 = this.registerModule('up2', new FastConvTranspose2d(this.width, config.channels ?? 1, 4, { stride: 2, padding: 1, seed: rng }));
  }
  forward(z: Tensor): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) throw new ShapeError(`DCGANGenerator: expected z of shape [N, ${this.latentDim}], got [${z.shape.join(', ')}]`);
    return tf.tidy(() => {
      let h = tf.relu(this.bn0.forward(this.project.forward(z)));
      h = tf.reshape(h, [z.shape[0]!, this.base, this.base, 2 * this.width]);
      h = tf.relu(this.bn1.forward(this.up1.forward(h)));
      return tf.tanh(this.up2.forward(h));
    });
  }
}

export interface DCGANDiscriminatorOptions {
  channels?: number;
  width?: number;
  imageSize?: 28 | 32;
  /** Normalisation after the second conv (default 'batch'; use 'layer' or 'none' with gradient penalties). */
  norm?: DNorm;
  /** Wrap every conv / linear in spectral normalisation (Miyato et al. 2018). */
  spectralNorm?: boolean;
  /** Append a minibatch-stddev channel before the last layer (ProGAN). */
  minibatchStd?: boolean | number;
  seed?: Seed;
}

const sn = <M extends Linear | Conv2d>(m: M, on: boolean, seed: Seed): M | SpectralNorm => (on ? new SpectralNorm(m, { seed }) : m);

/**
 * DCGAN discriminator for 28×28: Conv 4×4/2 → LeakyReLU(0.2) → Conv 4×4/2 → norm → LeakyReLU →
 * flatten → Linear → one logit per sample ([N, 1]). `features(x)` gives the flattened features
 * (used by projection and InfoGAN heads).
 */
export class DCGANDiscriminator extends Module {
  readonly featureDim: number;
  readonly conv1: Module;
  readonly conv2: Module;
  readonly norm: Module | null;
  readonly mbstd: MinibatchStdDev | null;
  readonly head: Module;
  readonly side: number;
  readonly width: number;
  constructor(readonly config: DCGANDiscriminatorOptions = {}) {
    super();
    const width = (this.width = config.width ?? 64);
    const size = config.imageSize ?? 28;
    if (size !== 28 && size !== 32) throw new InvalidArgumentError(`DCGANDiscriminator: imageSize must be 28 or 32, got ${size}`);
    const normKind = config.norm ?? 'batch';
    if (!['batch', 'layer', 'none'].includes(normKind)) throw new InvalidArgumentError(`DCGANDiscriminator: norm must be batch, layer or none, got ${JSON.stringify(normKind)}`);
    const rng = rngFor(config.seed);
    const useSn = config.spectralNorm ?? false;
    this.side = size / 4;
    this.conv1 = this.registerModule('conv1', sn(new Conv2d(config.channels ?? 1, width, 4, { stride: 2, padding: 1, seed: rng }), useSn, rng));
    this.conv2 = this.registerModule('conv2', sn(new Conv2d(width, 2 * width, 4, { stride: 2, padding: 1, seed: rng }), useSn, rng));
    this.norm = normKind === 'batch' ? this.registerModule('norm', new BatchNorm2d(2 * width))
      : normKind === 'layer' ? this.registerModule('norm', new LayerNorm([this.side, this.side, 2 * width]))
      : null;
    const mb = config.minibatchStd;
    this.mbstd = mb ? this.registerModule('mbstd', new MinibatchStdDev(typeof mb === 'number' ? mb : 4)) : null;
    this.featureDim = this.side * this.side * (2 * width + (mb ? 1 : 0));
    this.head = this.registerModule('head', sn(new Linear(this.featureDim, 1, { seed: rng }), useSn, rng));
  }
  features(x: Tensor): Tensor {
    const c = this.config.channels ?? 1;
    const s = this.side * 4;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== c) throw new ShapeError(`DCGANDiscriminator: expected images [N, ${s}, ${s}, ${c}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      let h = leakyRelu2(this.conv1.forward(x));
      h = this.conv2.forward(h);
      if (this.norm) h = this.norm.forward(h);
      h = leakyRelu2(h);
      if (this.mbstd) h = this.mbstd.forward(h);
      return tf.reshape(h, [x.shape[0]!, -1]);
    });
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.head.forward(this.features(x)));
  }
}

export interface MLPGanOptions {
  hidden?: number[];
  seed?: Seed;
}

/** MLP generator (the original GAN's toy setting): z → [Linear → ReLU]… → Linear. */
export class MLPGenerator extends Sequential {
  constructor(readonly latentDim: number, readonly outFeatures: number, options: MLPGanOptions = {}) {
    const rng = rngFor(options.seed);
    const sizes = [latentDim, ...(options.hidden ?? [128, 128]), outFeatures];
    const layers: Module[] = [];
    for (let i = 0; i < sizes.length - 1; i++) {
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { seed: rng }));
      if (i < sizes.length - 2) layers.push(new ReLU());
    }
    super(...layers);
  }
}

/** MLP discriminator: x → [Linear → LeakyReLU(0.2)]… → Linear → [N, 1]. Optional spectral norm / minibatch stddev. */
export class MLPDiscriminator extends Sequential {
  constructor(readonly inFeatures: number, options: MLPGanOptions & { spectralNorm?: boolean; minibatchStd?: boolean } = {}) {
    const rng = rngFor(options.seed);
    const hidden = options.hidden ?? [128, 128];
    const layers: Module[] = [];
    let width = inFeatures;
    for (const h of hidden) {
      layers.push(sn(new Linear(width, h, { seed: rng }), options.spectralNorm ?? false, rng), new GanLeakyReLU(0.2));
      width = h;
    }
    if (options.minibatchStd) {
      layers.push(new MinibatchStdDev(4));
      width += 1;
    }
    layers.push(sn(new Linear(width, 1, { seed: rng }), options.spectralNorm ?? false, rng));
    super(...layers);
  }
  /** The last Linear (one logit per sample). */
  get head(): Module {
    return this.at(-1);
  }
  /** Activations before the last Linear ([N, hidden]; used by InfoGAN's Q head). */
  features(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.length - 1; i++) h = this.at(i).forward(h);
      return h;
    });
  }
}
