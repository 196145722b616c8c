import { assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { defaultBias, defaultWeight, type Seed } from '../init.js';
import { Module, shapeError, type Parameter } from '../module.js';

export interface LinearOptions {
  bias?: boolean;
  seed?: Seed;
}

/** y = x Wᵀ + b with PyTorch's layout: `weight` [out, in], `bias` [out]; any leading dims. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    assertPositiveInt('Linear inFeatures', inFeatures);
    assertPositiveInt('Linear outFeatures', outFeatures);
    const rng = rngFor(options.seed);
    this.weight = this.registerParameter('weight', defaultWeight([outFeatures, inFeatures], rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', defaultBias(outFeatures, inFeatures, rng));
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithWeight(x, this.weight);
  }

  /** The layer's computation with a substitute weight (used by weight reparameterisations such as SpectralNorm). */
  forwardWithWeight(x: Tensor, weight: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) shapeError('Linear', 'input', `[..., ${this.inFeatures}]`, x.shape);
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(flat, weight, false, true);
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}

/** Passes its input through unchanged (a placeholder in Sequential or when swapping layers). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return tf.clone(x);
  }
}
