import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, LayerNorm, Module } from '@nutshell/nn';
import { mm, mmT } from '../gpt/ops.js';
import type { BertConfig } from './config.js';
import { BertLinear } from './layers.js';

/** HF BertSelfAttention (absolute positions): query/key/value → heads → softmax(qkᵀ/√d + mask) v. */
export class BertSelfAttention extends Module {
  readonly query: BertLinear;
  readonly key: BertLinear;
  readonly value: BertLinear;
  readonly dropout: Dropout;
  readonly headDim: number;
  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    const { hiddenSize: C, initializerRange: std } = config;
    this.headDim = C / config.numAttentionHeads;
    this.query = this.registerModule('query', new BertLinear(C, C, std, rng.fork('query')));
    this.key = this.registerModule('key', new BertLinear(C, C, std, rng.fork('key')));
    this.value = this.registerModule('value', new BertLinear(C, C, std, rng.fork('value')));
    this.dropout = this.registerModule('dropout', new Dropout(config.attentionProbsDropoutProb, { seed: rng.fork('dropout') }));
  }

  /** x [B, T, C]; additiveMask [B, 1, 1, T] (0 for tokens, a large negative number for padding) or null. */
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.config.numAttentionHeads;
    const d = this.headDim;
    return tf.tidy(() => {
      const heads = (t: Tensor) => tf.transpose(tf.reshape(t, [B, T, H, d]), [0, 2, 1, 3]);
      const q = heads(this.query.forward(x));
      const k = heads(this.key.forward(x));
      const v = heads(this.value.forward(x));
      let scores = tf.mul(mmT(q, k), 1 / Math.sqrt(d));
      if (additiveMask) scores = tf.add(scores, additiveMask);
      const w = this.dropout.forward(tf.softmax(scores));
      return tf.reshape(tf.transpose(mm(w, v), [0, 2, 1, 3]), [B, T, C]);
    });
  }
}

/** HF BertSelfOutput: dense → dropout → LayerNorm(· + input) (post-LN residual). */
export class BertSelfOutput extends Module {
  readonly dense: BertLinear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  constructor(config: BertConfig, rng: Rng) {
    super();
    this.dense = this.registerModule('dense', new BertLinear(config.hiddenSize, config.hiddenSize, config.initializerRange, rng.fork('dense')));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb, { seed: rng.fork('dropout') }));
  }
  forward(h: Tensor, input: Tensor): Tensor {
    return tf.tidy(() => this.LayerNorm.forward(tf.add(this.dropout.forward(this.dense.forward(h)), input)));
  }
}

/** HF BertAttention: `self` and `output`. */
export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertSelfOutput;
  constructor(config: BertConfig, rng: Rng) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(config, rng.fork('self')));
    this.output = this.registerModule('output', new BertSelfOutput(config, rng.fork('output')));
  }
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    return tf.tidy(() => this.output.forward(this.self.forward(x, additiveMask), x));
  }
}
