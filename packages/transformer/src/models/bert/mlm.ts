import { InvalidArgumentError, ShapeError, describe, tf, type Tensor, type Tensor3D } from '@nutshell/core';
import { LayerNorm, Module, crossEntropy, init, type Parameter, type Seed } from '@nutshell/nn';
import { mm, mmT } from '../gpt/ops.js';
import { bertConfig, type BertConfig, type BertConfigInput } from './config.js';
import { prepareInputs, type BertInputs } from './inputs.js';
import { BertLinear, activate } from './layers.js';
import { BertModel, rngOf } from './model.js';
import type { Rng } from '@nutshell/core';

const ONE_HOT_LIMIT = 1 << 23;

/** HF BertPredictionHeadTransform: dense → activation → LayerNorm. */
export class BertPredictionHeadTransform extends Module {
  readonly dense: BertLinear;
  readonly LayerNorm: LayerNorm;
  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    this.dense = this.registerModule('dense', new BertLinear(config.hiddenSize, config.hiddenSize, config.initializerRange, rng.fork('dense')));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.LayerNorm.forward(activate(this.config.hiddenAct, this.dense.forward(x))));
  }
}

/** The decoder's weight [vocab, hidden]: the word embeddings' own variable when tied. */
class Decoder extends Module {
  readonly weight: Parameter;
  constructor(weight: Tensor) {
    super();
    this.weight = this.registerParameter('weight', weight);
  }
  static tied(shared: Parameter): Decoder {
    const d = new Decoder(tf.zeros([1]));
    d.weight.dispose();
    (d as { weight: Parameter }).weight = shared;
    d.replaceParameter('weight', shared);
    return d;
  }
  override replaceParameter(name: string, v: Parameter): void {
    super.replaceParameter(name, v);
  }
  forward(): never {
    throw new InvalidArgumentError('Decoder: used through BertLMPredictionHead');
  }
}

/** HF BertLMPredictionHead: transform, decoder (tied to the word embeddings) and the output `bias`. */
export class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly decoder: Decoder;
  readonly bias: Parameter;
  constructor(config: BertConfig, wordEmbeddings: Parameter, rng: Rng) {
    super();
    this.transform = this.registerModule('transform', new BertPredictionHeadTransform(config, rng.fork('transform')));
    this.decoder = this.registerModule(
      'decoder',
      config.tieWordEmbeddings ? Decoder.tied(wordEmbeddings) : new Decoder(init.normal([config.vocabSize, config.hiddenSize], 0, config.initializerRange, rng.fork('decoder'))),
    );
    this.bias = this.registerParameter('bias', tf.zeros([config.vocabSize]));
  }
  /** h [..., hidden] → logits [..., vocab]. */
  forward(h: Tensor): Tensor {
    return tf.tidy(() => {
      const C = h.shape[h.rank - 1]!;
      const t = this.transform.forward(tf.reshape(h, [-1, C]));
      const y = tf.add(mmT(t, this.decoder.weight), this.bias);
      return tf.reshape(y, [...h.shape.slice(0, -1), this.bias.shape[0]!]);
    });
  }
}

/** HF BertOnlyMLMHead: `predictions`. */
export class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;
  constructor(config: BertConfig, wordEmbeddings: Parameter, rng: Rng) {
    super();
    this.predictions = this.registerModule('predictions', new BertLMPredictionHead(config, wordEmbeddings, rng.fork('predictions')));
  }
  forward(h: Tensor): Tensor {
    return this.predictions.forward(h);
  }
}

/** Labels [B, T] (−100 = not predicted) as arrays or an int32 tensor → flat values. */
export function labelValues(labels: Tensor | readonly (readonly number[])[], B: number, T: number, where: string): Int32Array {
  let vals: ArrayLike<number>;
  let shape: number[];
  if (Array.isArray(labels)) {
    shape = [labels.length, (labels[0] as readonly number[] | undefined)?.length ?? 0];
    if ((labels as number[][]).some((r) => !Array.isArray(r) || r.length !== shape[1])) throw new ShapeError(`${where}: labels must be a [batch, time] array`);
    vals = (labels as number[][]).flat();
  } else {
    const t = labels as Tensor;
    shape = [...t.shape];
    vals = t.dataSync();
  }
  if (shape.length !== 2 || shape[0] !== B || shape[1] !== T) throw new ShapeError(`${where}: labels must have the inputs' shape [${B}, ${T}], got [${shape.join(', ')}]`);
  return Int32Array.from(vals);
}

/**
 * BERT with the masked-language-model head, named as Hugging Face BertForMaskedLM: `bert.*` (no
 * pooler) and `cls.predictions.{transform.dense, transform.LayerNorm, bias}`; the decoder shares
 * `bert.embeddings.word_embeddings.weight` (saved once, as HF does).
 */
export class BertForMaskedLM extends Module {
  readonly config: BertConfig;
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;
  constructor(config: BertConfigInput, options: { seed?: Seed } = {}) {
    super();
    this.config = bertConfig(config);
    const rng = rngOf(options.seed);
    this.bert = this.registerModule('bert', new BertModel(this.config, { seed: rng.fork('bert'), addPoolingLayer: false }));
    this.cls = this.registerModule('cls', new BertOnlyMLMHead(this.config, this.bert.embeddings.word_embeddings.weight, rng.fork('cls')));
  }

  /** MLM logits [B, T, vocab]. */
  forward(inputs: BertInputs | BertInputs['inputIds']): Tensor3D {
    const p = prepareInputs(this.config, inputs, 'BertForMaskedLM');
    try {
      return tf.tidy(() => this.cls.forward(this.bert.encode(p))) as Tensor3D;
    } finally {
      p.dispose();
    }
  }

  /**
   * Logits [N, vocab] of the N positions whose label is not −100, and their labels. Only those
   * positions go through the prediction head, which is what makes MLM training cheap.
   */
  maskedLogits(inputs: BertInputs | BertInputs['inputIds'], labels: Tensor | readonly (readonly number[])[]): { logits: Tensor; targets: Int32Array } {
    const p = prepareInputs(this.config, inputs, 'BertForMaskedLM');
    try {
      const [B, T] = p.ids.shape as [number, number];
      const lab = labelValues(labels, B, T, 'BertForMaskedLM');
      const pos: number[] = [];
      const tgt: number[] = [];
      lab.forEach((l, i) => {
        if (l === -100) return;
        if (l < 0 || l >= this.config.vocabSize) throw new InvalidArgumentError(`BertForMaskedLM: label ${describe(l)} at flat index ${i} is neither −100 nor a token id in [0, ${this.config.vocabSize})`);
        pos.push(i);
        tgt.push(l);
      });
      const logits = tf.tidy(() => {
        if (!pos.length) return tf.zeros([0, this.config.vocabSize]);
        const h = tf.reshape(this.bert.encode(p), [B * T, this.config.hiddenSize]);
        const at = tf.tensor1d(pos, 'int32');
        // A one-hot selection matmul: tf.gather's gradient (UnsortedSegmentSum) is ~100× slower on
        // the CPU and wasm backends; past a few million one-hot entries gather is the lesser cost.
        if (pos.length * B * T > ONE_HOT_LIMIT) return this.cls.forward(tf.gather(h, at));
        return this.cls.forward(mm(tf.oneHot(at, B * T), h));
      });
      return { logits, targets: Int32Array.from(tgt) };
    } finally {
      p.dispose();
    }
  }

  /** Mean cross-entropy over the positions whose label is not −100 (HF's MLM loss). A batch with no such position gives 0 (HF: NaN). */
  loss(inputs: BertInputs | BertInputs['inputIds'], labels: Tensor | readonly (readonly number[])[]): Tensor {
    return tf.tidy(() => {
      const { logits, targets } = this.maskedLogits(inputs, labels);
      if (!targets.length) return tf.mul(tf.sum(this.cls.predictions.bias), 0);
      return crossEntropy(logits, tf.tensor1d(targets, 'int32'));
    });
  }
}
