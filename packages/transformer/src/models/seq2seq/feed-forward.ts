import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, Module, gelu } from '@nutshell/nn';
import { geluNew } from '../gpt/ops.js';
import type { T5Activation, T5Config } from './config.js';
import { T5Dense } from './dense.js';

export function t5Activation(name: T5Activation, x: Tensor): Tensor {
  if (name === 'relu') return tf.relu(x);
  if (name === 'gelu_new') return geluNew(x);
  if (name === 'gelu') return gelu(x);
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** HF T5DenseActDense (wi → act → dropout → wo) or T5DenseGatedActDense (act(wi_0)·wi_1 → dropout → wo). */
export class T5DenseActDense extends Module {
  readonly wi: T5Dense | null = null;
  readonly wi_0: T5Dense | null = null;
  readonly wi_1: T5Dense | null = null;
  readonly wo: T5Dense;
  readonly dropout: Dropout;
  constructor(readonly config: T5Config, rng: Rng) {
    super();
    const { dModel, dFf, initializerFactor: f } = config;
    if (config.isGatedAct) {
      this.wi_0 = this.registerModule('wi_0', new T5Dense(dModel, dFf, f * dModel ** -0.5, rng.fork('wi_0')));
      this.wi_1 = this.registerModule('wi_1', new T5Dense(dModel, dFf, f * dModel ** -0.5, rng.fork('wi_1')));
    } else {
      this.wi = this.registerModule('wi', new T5Dense(dModel, dFf, f * dModel ** -0.5, rng.fork('wi')));
    }
    this.dropout = this.registerModule('dropout', new Dropout(config.dropoutRate, { seed: rng.fork('dropout') }));
    this.wo = this.registerModule('wo', new T5Dense(dFf, dModel, f * dFf ** -0.5, rng.fork('wo')));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const act = this.config.denseActFn;
      const h = this.wi ? t5Activation(act, this.wi.forward(x)) : tf.mul(t5Activation(act, this.wi_0!.forward(x)), this.wi_1!.forward(x));
      return this.wo.forward(this.dropout.forward(h));
    });
  }
}
