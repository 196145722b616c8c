import { InvalidArgumentError, Rng, ShapeError, rngFor, tf, type Tensor } from '@nutshell/core';
import { Linear, Module, type Seed } from '@nutshell/nn';
import { leakyRelu2 } from '../activations.js';

/** InfoGAN latent codes: a categorical code (one-hot) and continuous codes U(−1, 1). */
export interface InfoCodes {
  /** int32 [N] category indices. */
  categories: Tensor;
  /** float32 [N, numCategories] one-hot rows. */
  oneHot: Tensor;
  /** float32 [N, numContinuous]. */
  continuous: Tensor;
}

export function sampleInfoCodes(n: number, numCategories: number, numContinuous: number, rng: Rng): InfoCodes {
  const cats = Int32Array.from({ length: n }, () => rng.int(numCategories));
  return tf.tidy(() => {
    const categories = tf.tensor1d(cats, 'int32');
    return { categories, oneHot: tf.cast(tf.oneHot(categories, numCategories), 'float32'), continuous: rng.uniformTensor([n, numContinuous], -1, 1) };
  });
}

/**
 * The Q network of InfoGAN (Chen et al. 2016): from D's features, logits over the categorical
 * code and the means of the continuous codes (fixed unit variance).
 */
export class InfoGANHead extends Module {
  readonly hidden: Linear;
  readonly cat: Linear;
  readonly cont: Linear;
  constructor(readonly featureDim: number, readonly numCategories: number, readonly numContinuous: number, options: { hidden?: number; seed?: Seed } = {}) {
    super();
    const rng = rngFor(options.seed);
    const h = options.hidden ?? 128;
    this.hidden = this.registerModule('hidden', new Linear(featureDim, h, { seed: rng }));
    this.cat = this.registerModule('cat', new Linear(h, numCategories, { seed: rng }));
    this.cont = this.registerModule('cont', new Linear(h, Math.max(1, numContinuous), { seed: rng }));
  }
  forward(features: Tensor): { logits: Tensor; mean: Tensor } {
    if (features.rank !== 2 || features.shape[1] !== this.featureDim) throw new ShapeError(`InfoGANHead: expected features [N, ${this.featureDim}], got [${features.shape.join(', ')}]`);
    return tf.tidy(() => {
      const h = leakyRelu2(this.hidden.forward(features));
      const mean = this.cont.forward(h);
      return { logits: this.cat.forward(h), mean: this.numContinuous > 0 ? mean : tf.zeros([features.shape[0]!, 0]) };
    });
  }
}

/**
 * InfoGAN's variational lower bound on I(c; G(z, c)), as a loss to minimise for both G and Q:
 * λ_cat · CE(Q logits, c_cat) + λ_cont · E ½(c_cont − μ)² (Gaussian NLL with unit variance, up to
 * a constant). Defaults λ_cat = 1, λ_cont = 0.1 (the paper's MNIST setting).
 */
export function mutualInformationLoss(q: { logits: Tensor; mean: Tensor }, codes: { categories: Tensor; continuous: Tensor }, options: { lambdaCat?: number; lambdaCont?: number } = {}): Tensor {
  const lc = options.lambdaCat ?? 1;
  const lk = options.lambdaCont ?? 0.1;
  if (!(lc >= 0 && lk >= 0)) throw new InvalidArgumentError('mutualInformationLoss: weights must be ≥ 0');
  return tf.tidy(() => {
    const logp = tf.logSoftmax(q.logits);
    const k = q.logits.shape[1]!;
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(tf.cast(tf.oneHot(codes.categories, k), 'float32'), logp), 1)));
    let loss = tf.mul(lc, ce);
    if (codes.continuous.size > 0) {
      const nll = tf.mean(tf.sum(tf.mul(0.5, tf.square(tf.sub(codes.continuous, q.mean))), 1));
      loss = tf.add(loss, tf.mul(lk, nll));
    }
    return loss;
  });
}
