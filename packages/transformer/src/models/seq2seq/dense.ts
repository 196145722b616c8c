import { Rng, tf, type Tensor } from '@nutshell/core';
import { Module, init, type Parameter } from '@nutshell/nn';
import { mmT } from '../gpt/ops.js';

/**
 * A bias-free torch.nn.Linear (weight [out, in], y = x·Wᵀ) as T5 uses everywhere, initialised
 * N(0, std) like HF's T5PreTrainedModel._init_weights. Uses the fast-gradient matmul of gpt/ops.
 */
export class T5Dense extends Module {
  readonly weight: Parameter;
  constructor(readonly inFeatures: number, readonly outFeatures: number, std: number, rng: Rng) {
    super();
    this.weight = this.registerParameter('weight', init.normal([outFeatures, inFeatures], 0, std, rng));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]);
      const y = mmT(flat, this.weight);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}
