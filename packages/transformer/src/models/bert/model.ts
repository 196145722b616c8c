import { Rng, rngFor, tf, type Tensor, type Tensor2D, type Tensor3D } from '@nutshell/core';
import { Module, type Seed } from '@nutshell/nn';
import { bertConfig, type BertConfig, type BertConfigInput } from './config.js';
import { BertEmbeddings } from './embeddings.js';
import { BertEncoder } from './encoder.js';
import { prepareInputs, type BertInputs, type PreparedInputs } from './inputs.js';
import { BertLinear } from './layers.js';

/** HF BertPooler: tanh(dense(hidden state of the first token)). */
export class BertPooler extends Module {
  readonly dense: BertLinear;
  constructor(config: BertConfig, rng: Rng) {
    super();
    this.dense = this.registerModule('dense', new BertLinear(config.hiddenSize, config.hiddenSize, config.initializerRange, rng.fork('dense')));
  }
  forward(h: Tensor): Tensor {
    return tf.tidy(() => tf.tanh(this.dense.forward(tf.squeeze(tf.slice(h, [0, 0, 0], [-1, 1, -1]), [1]))));
  }
}

export interface BertModelOutput {
  /** [B, T, hidden] */
  lastHiddenState: Tensor3D;
  /** [B, hidden], or null without a pooler. */
  poolerOutput: Tensor2D | null;
}

export interface BertModelOptions {
  seed?: Seed;
  /** HF add_pooling_layer (BertForMaskedLM has none). Default true. */
  addPoolingLayer?: boolean;
}

export function rngOf(seed: Seed | undefined): Rng {
  return seed instanceof Rng ? seed : new Rng(seed === undefined ? rngFor().nextUint32() : seed);
}

/**
 * The BERT encoder with Hugging Face BertModel's parameter names (`embeddings.word_embeddings.weight`,
 * `encoder.layer.0.attention.self.query.weight`, `pooler.dense.weight`, …; Linear weights [out, in]).
 * Post-LN blocks, exact (erf) GELU, padding mask and token type ids as HF.
 */
export class BertModel extends Module {
  readonly config: BertConfig;
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;
  constructor(config: BertConfigInput, options: BertModelOptions = {}) {
    super();
    this.config = bertConfig(config);
    const rng = rngOf(options.seed);
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(this.config, rng.fork('embeddings')));
    this.encoder = this.registerModule('encoder', new BertEncoder(this.config, rng.fork('encoder')));
    this.pooler = options.addPoolingLayer === false ? null : this.registerModule('pooler', new BertPooler(this.config, rng.fork('pooler')));
  }

  /** Hidden states of prepared (validated) inputs. */
  encode(p: PreparedInputs): Tensor3D {
    return tf.tidy(() => this.encoder.forward(this.embeddings.forward(p.ids, p.tokenTypeIds), p.additiveMask)) as Tensor3D;
  }

  /** Last hidden states [B, T, hidden] and pooled [CLS] output [B, hidden]. Bad ids, lengths or masks throw typed errors. */
  forward(inputs: BertInputs | BertInputs['inputIds']): BertModelOutput {
    const p = prepareInputs(this.config, inputs, 'BertModel');
    try {
      const h = this.encode(p);
      return { lastHiddenState: h, poolerOutput: this.pooler ? (this.pooler.forward(h) as Tensor2D) : null };
    } finally {
      p.dispose();
    }
  }
}
