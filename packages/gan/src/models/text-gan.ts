import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Rng, type Tensor } from '@nutshell/core';
import { Conv1d, Linear, Module, type Seed } from '@nutshell/nn';
import { leakyRelu2 } from '../activations.js';
import { gumbelSoftmax } from '../gumbel.js';

export interface GumbelSequenceGeneratorOptions {
  latentDim?: number;
  hidden?: number;
  /** Gumbel-softmax temperature τ (default 1); anneal it with `annealTemperature`. */
  tau?: number;
  /** Straight-through: emit one-hot tokens forward, soft gradients backward (default true). */
  hard?: boolean;
  seed?: Seed;
}

/**
 * Text GAN generator (Kusner & Hernández-Lobato 2016): z → h₀ = tanh(Linear(z)); at each step a GRU cell
 * reads [previous token, z], a linear layer gives logits and a Gumbel-softmax sample (Jang et al.
 * 2017) at temperature `tau` is both the output token and the next input. With `hard`, tokens are
 * exact one-hot categorical samples (Gumbel-max) whose gradient is the relaxed sample's
 * (straight-through), so D never sees soft vectors that real one-hot data could not be. Output
 * [n, seqLen, vocabSize]. The Gumbel noise comes from the module's own seeded stream.
 */
export class GumbelSequenceGenerator extends Module {
  readonly latentDim: number;
  readonly hidden: number;
  tau: number;
  hard: boolean;
  readonly init: Linear;
  /** GRU cell (PyTorch's GRUCell equations, gates r, z, n): input→gates and hidden→gates. */
  readonly ih: Linear;
  readonly hh: Linear;
  readonly out: Linear;
  private readonly noise: Rng;
  constructor(readonly vocabSize: number, readonly seqLen: number, config: GumbelSequenceGeneratorOptions = {}) {
    super();
    assertPositiveInt('GumbelSequenceGenerator vocabSize', vocabSize);
    assertPositiveInt('GumbelSequenceGenerator seqLen', seqLen);
    this.latentDim = config.latentDim ?? 16;
    this.hidden = config.hidden ?? 64;
    assertPositiveInt('GumbelSequenceGenerator latentDim', this.latentDim);
    assertPositiveInt('GumbelSequenceGenerator hidden', this.hidden);
    this.tau = config.tau ?? 1;
    if (!(this.tau > 0)) throw new InvalidArgumentError(`GumbelSequenceGenerator: tau must be > 0, got ${this.tau}`);
    this.hard = config.hard ?? true;
    const rng = rngFor(config.seed);
    this.init = this.registerModule('init', new Linear(this.latentDim, this.hidden, { seed: rng }));
    // A hand-rolled cell: nn's GRU over one time step fails in backprop (tfjs' unstack gradient of a
    // length-1 axis), and this loop needs exactly that.
    this.ih = this.registerModule('ih', new Linear(vocabSize + this.latentDim, 3 * this.hidden, { seed: rng }));
    this.hh = this.registerModule('hh', new Linear(this.hidden, 3 * this.hidden, { seed: rng }));
    this.out = this.registerModule('out', new Linear(this.hidden, vocabSize, { seed: rng }));
    this.noise = rng.fork('gumbel');
  }

  /** Relaxed (or straight-through one-hot) token sequences [n, seqLen, vocabSize] for latents z [n, latentDim]. */
  forward(z: Tensor): Tensor {
    return this.generate(z, this.noise);
  }

  private generate(z: Tensor, noise: Rng): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) throw new ShapeError(`GumbelSequenceGenerator: expected z of shape [n, ${this.latentDim}], got [${z.shape.join(', ')}]`);
    if (!(this.tau > 0)) throw new InvalidArgumentError(`GumbelSequenceGenerator: tau must be > 0, got ${this.tau}`);
    return tf.tidy(() => {
      const n = z.shape[0]!;
      let h = tf.tanh(this.init.forward(z));
      let prev: Tensor = tf.zeros([n, this.vocabSize]);
      const tokens: Tensor[] = [];
      for (let t = 0; t < this.seqLen; t++) {
        h = this.cell(tf.concat([prev, z], 1), h);
        const logits = this.out.forward(h);
        prev = gumbelSoftmax(logits, { tau: this.tau, hard: this.hard, rng: noise });
        tokens.push(prev);
      }
      return tf.stack(tokens, 1);
    });
  }

  /** h' = (1 − u)·n + u·h with r = σ(x_r + h_r), u = σ(x_z + h_z), n = tanh(x_n + r·h_n). */
  private cell(x: Tensor, h: Tensor): Tensor {
    const [xr, xz, xn] = tf.split(this.ih.forward(x), 3, 1) as [Tensor, Tensor, Tensor];
    const [hr, hz, hn] = tf.split(this.hh.forward(h), 3, 1) as [Tensor, Tensor, Tensor];
    const r = tf.sigmoid(tf.add(xr, hr));
    const u = tf.sigmoid(tf.add(xz, hz));
    const cand = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    return tf.add(tf.mul(tf.sub(1, u), cand), tf.mul(u, h));
  }

  /**
   * n token-id sequences sampled exactly (Gumbel-max, whatever tau), for evaluation: z and the
   * Gumbel noise both come from `rng`, so sampling neither depends on nor perturbs training's stream.
   */
  sample(n: number, rng: Rng): number[][] {
    assertPositiveInt('GumbelSequenceGenerator.sample n', n);
    const hard = this.hard;
    this.hard = true;
    try {
      const ids = tf.tidy(() => tf.argMax(this.generate(rng.normalTensor([n, this.latentDim]), rng.fork('gumbel')), -1));
      const flat = ids.dataSync();
      ids.dispose();
      return Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * this.seqLen, (i + 1) * this.seqLen)));
    } finally {
      this.hard = hard;
    }
  }
}

export interface SequenceDiscriminatorOptions {
  channels?: number;
  kernel?: number;
  hidden?: number;
  seed?: Seed;
}

/**
 * Discriminator on one-hot (or relaxed) token sequences [n, seqLen, vocabSize]: Conv1d over time
 * (local n-gram features) → LeakyReLU(0.2) → flatten → Linear → LeakyReLU → Linear → one logit, so
 * the last layers can check global constraints (e.g. bracket balance).
 */
export class SequenceDiscriminator extends Module {
  readonly conv: Conv1d;
  readonly fc: Linear;
  readonly head: Linear;
  constructor(readonly vocabSize: number, readonly seqLen: number, config: SequenceDiscriminatorOptions = {}) {
    super();
    assertPositiveInt('SequenceDiscriminator vocabSize', vocabSize);
    assertPositiveInt('SequenceDiscriminator seqLen', seqLen);
    const c = config.channels ?? 32;
    const k = config.kernel ?? 3;
    if (!(Number.isInteger(k) && k > 0 && k % 2 === 1)) throw new InvalidArgumentError(`SequenceDiscriminator: kernel must be an odd positive integer, got ${k}`);
    const rng = rngFor(config.seed);
    this.conv = this.registerModule('conv', new Conv1d(vocabSize, c, k, { padding: (k - 1) / 2, seed: rng }));
    this.fc = this.registerModule('fc', new Linear(seqLen * c, config.hidden ?? 64, { seed: rng }));
    this.head = this.registerModule('head', new Linear(config.hidden ?? 64, 1, { seed: rng }));
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[1] !== this.seqLen || x.shape[2] !== this.vocabSize) {
      throw new ShapeError(`SequenceDiscriminator: expected [n, ${this.seqLen}, ${this.vocabSize}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const h = leakyRelu2(this.conv.forward(x));
      return this.head.forward(leakyRelu2(this.fc.forward(tf.reshape(h, [x.shape[0]!, -1]))));
    });
  }
}

/**
 * Exponential temperature annealing of Jang et al. 2017: τ = max(min, start·exp(−rate·step))
 * (defaults start 1, min 0.5, rate 1e-3 per step).
 */
export function annealTemperature(step: number, options: { start?: number; min?: number; rate?: number } = {}): number {
  const { start = 1, min = 0.5, rate = 1e-3 } = options;
  if (!(start > 0 && min > 0 && rate >= 0)) throw new InvalidArgumentError(`annealTemperature: need start > 0, min > 0, rate ≥ 0, got ${JSON.stringify(options)}`);
  return Math.max(min, start * Math.exp(-rate * Math.max(0, step)));
}
