import { InvalidArgumentError, Rng, ShapeError, rngFor, tf, type Tensor } from '@nutshell/core';
import { activation, Activation, type ActivationName } from './activations.js';
import type { Seed } from './init.js';
import { Conv2d } from './layers/conv.js';
import { Flatten, Sequential } from './layers/containers.js';
import { Dropout } from './layers/dropout.js';
import { Linear } from './layers/linear.js';
import { MaxPool2d } from './layers/pool.js';
import { bceWithLogitsLoss, gaussianKL } from './losses.js';
import { Module } from './module.js';

export interface MLPOptions {
  /** Layer widths: [in, hidden…, out]. */
  sizes: number[];
  activation?: ActivationName;
  dropout?: number;
  seed?: Seed;
}

/** Multi-layer perceptron: Linear → activation (→ Dropout) … → Linear (no final activation). */
export class MLP extends Sequential {
  constructor(readonly config: MLPOptions) {
    const { sizes } = config;
    if (!Array.isArray(sizes) || sizes.length < 2) throw new InvalidArgumentError(`MLP: sizes must list at least [in, out], got ${JSON.stringify(sizes)}`);
    const rng = rngFor(config.seed);
    const layers: Module[] = [];
    for (let i = 0; i < sizes.length - 1; i++) {
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { seed: rng }));
      if (i < sizes.length - 2) {
        layers.push(new Activation(config.activation ?? 'relu'));
        if (config.dropout) layers.push(new Dropout(config.dropout, { seed: rng }));
      }
    }
    super(...layers);
  }
}

export interface SmallCNNOptions {
  inChannels?: number;
  numClasses?: number;
  /** Square input size (default 28, MNIST). */
  imageSize?: number;
  channels?: [number, number];
  hidden?: number;
  dropout?: number;
  seed?: Seed;
}

/** A small image classifier (NHWC): [conv3×3 → ReLU → maxpool2] ×2 → Linear → ReLU → Linear. */
export class SmallCNN extends Sequential {
  constructor(readonly config: SmallCNNOptions = {}) {
    const inC = config.inChannels ?? 1;
    const [c1, c2] = config.channels ?? [16, 32];
    const size = config.imageSize ?? 28;
    const rng = rngFor(config.seed);
    const after = Math.floor(Math.floor(size / 2) / 2);
    const layers: Module[] = [
      new Conv2d(inC, c1, 3, { padding: 1, seed: rng }), new Activation('relu'), new MaxPool2d(2),
      new Conv2d(c1, c2, 3, { padding: 1, seed: rng }), new Activation('relu'), new MaxPool2d(2),
      new Flatten(),
      new Linear(after * after * c2, config.hidden ?? 64, { seed: rng }), new Activation('relu'),
    ];
    if (config.dropout) layers.push(new Dropout(config.dropout, { seed: rng }));
    layers.push(new Linear(config.hidden ?? 64, config.numClasses ?? 10, { seed: rng }));
    super(...layers);
  }
}

/** A dense autoencoder; `forward` returns reconstruction logits (use bceWithLogits or sigmoid). */
export class Autoencoder extends Module {
  readonly encoder: MLP;
  readonly decoder: MLP;
  constructor(readonly config: { inFeatures: number; hidden: number[]; latent: number; seed?: Seed }) {
    super();
    const rng = rngFor(config.seed);
    this.encoder = this.registerModule('encoder', new MLP({ sizes: [config.inFeatures, ...config.hidden, config.latent], seed: rng }));
    this.decoder = this.registerModule('decoder', new MLP({ sizes: [config.latent, ...[...config.hidden].reverse(), config.inFeatures], seed: rng }));
  }
  encode(x: Tensor): Tensor {
    return this.encoder.forward(x);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.decoder.forward(this.encoder.forward(x)));
  }
}

export interface VAEOutput {
  logits: Tensor;
  mu: Tensor;
  logVar: Tensor;
  z: Tensor;
}

/**
 * Variational autoencoder (Bernoulli decoder): encoder → (μ, log σ²) heads, reparameterised
 * z = μ + σ·ε with seeded ε, decoder → logits. `elbo` reports reconstruction and KL separately.
 */
export class VAE extends Module {
  readonly encoder: MLP;
  readonly mu: Linear;
  readonly logVar: Linear;
  readonly decoder: MLP;
  private readonly seed: string;
  private calls = 0;
  readonly act: (x: Tensor) => Tensor = activation('relu');

  constructor(readonly config: { inFeatures: number; hidden: number[]; latent: number; seed?: Seed }) {
    super();
    if (!config.hidden.length) throw new InvalidArgumentError('VAE: give at least one hidden layer');
    const rng = rngFor(config.seed);
    this.seed = String(rng.nextUint32());
    const h = config.hidden.at(-1)!;
    this.encoder = this.registerModule('encoder', new MLP({ sizes: [config.inFeatures, ...config.hidden], seed: rng }));
    this.mu = this.registerModule('mu', new Linear(h, config.latent, { seed: rng }));
    this.logVar = this.registerModule('log_var', new Linear(h, config.latent, { seed: rng }));
    this.decoder = this.registerModule('decoder', new MLP({ sizes: [config.latent, ...[...config.hidden].reverse(), config.inFeatures], seed: rng }));
  }

  private noise(shape: number[]): Tensor {
    return tf.randomNormal(shape, 0, 1, 'float32', new Rng(`${this.seed}/eps/${this.calls++}`).tfSeed());
  }

  encode(x: Tensor): { mu: Tensor; logVar: Tensor } {
    if (x.rank !== 2 || x.shape[1] !== this.config.inFeatures) throw new ShapeError(`VAE: expected input [N, ${this.config.inFeatures}], got shape [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const h = this.act(this.encoder.forward(x));
      return { mu: this.mu.forward(h), logVar: this.logVar.forward(h) };
    });
  }

  /** Decoder logits for latent codes. */
  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  forward(x: Tensor): VAEOutput {
    return tf.tidy(() => {
      const { mu, logVar } = this.encode(x);
      // In eval mode use the mean (deterministic reconstructions).
      const z = this.training ? tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), this.noise(mu.shape))) : tf.clone(mu);
      return { logits: this.decode(z), mu, logVar, z };
    });
  }

  /**
   * Negative β-ELBO per sample (mean over the batch): reconstruction = Σ BCE(logits, x) over
   * features, kl = KL(q(z|x) ‖ N(0, I)); loss = recon + β·kl. All three are scalars the caller owns.
   */
  elbo(x: Tensor, options: { beta?: number } = {}): { loss: Tensor; recon: Tensor; kl: Tensor } {
    return tf.tidy(() => {
      const { logits, mu, logVar } = this.forward(x);
      const recon = tf.div(bceWithLogitsLoss(logits, x, { reduction: 'sum' }), x.shape[0]!);
      const kl = gaussianKL(mu, logVar);
      return { loss: tf.add(recon, tf.mul(options.beta ?? 1, kl)), recon, kl };
    });
  }

  override getExtraState(): unknown {
    return { calls: this.calls };
  }
  override setExtraState(s: unknown): void {
    const c = (s as { calls?: number })?.calls;
    if (typeof c === 'number') this.calls = c;
  }

  /** n samples from the prior, decoded to probabilities. */
  sample(n: number, seed?: Seed): Tensor {
    const rng = rngFor(seed);
    return tf.tidy(() => tf.sigmoid(this.decode(tf.randomNormal([n, this.config.latent], 0, 1, 'float32', rng.tfSeed()))));
  }
}

/** Points between two latent vectors [D]: linear or spherical interpolation; returns [steps, D]. */
export function interpolateLatent(a: Tensor, b: Tensor, steps: number, mode: 'lerp' | 'slerp' = 'lerp'): Tensor {
  if (a.rank !== 1 || b.rank !== 1 || a.shape[0] !== b.shape[0]) throw new ShapeError(`interpolateLatent: expected two vectors of equal length, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  if (!Number.isInteger(steps) || steps < 2) throw new InvalidArgumentError(`interpolateLatent: steps must be an integer ≥ 2, got ${steps}`);
  const ts = Array.from({ length: steps }, (_, i) => i / (steps - 1));
  return tf.tidy(() => {
    if (mode === 'lerp') return tf.stack(ts.map((t) => tf.add(tf.mul(a, 1 - t), tf.mul(b, t))));
    const av = a.dataSync();
    const bv = b.dataSync();
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < av.length; i++) { dot += av[i]! * bv[i]!; na += av[i]! ** 2; nb += bv[i]! ** 2; }
    const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb || 1))));
    if (omega < 1e-6) return tf.stack(ts.map((t) => tf.add(tf.mul(a, 1 - t), tf.mul(b, t))));
    const so = Math.sin(omega);
    return tf.stack(ts.map((t) => tf.add(tf.mul(a, Math.sin((1 - t) * omega) / so), tf.mul(b, Math.sin(t * omega) / so))));
  });
}
