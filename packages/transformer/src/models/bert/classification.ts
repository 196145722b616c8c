import { InvalidArgumentError, ShapeError, describe, tf, type Tensor, type Tensor2D } from '@nutshell/core';
import { Dropout, Module, crossEntropy, mseLoss, type Seed } from '@nutshell/nn';
import { bertConfig, type BertConfig, type BertConfigInput } from './config.js';
import { prepareInputs, type BertInputs } from './inputs.js';
import { BertLinear } from './layers.js';
import { BertModel, rngOf } from './model.js';

/**
 * BERT with a classification head on the pooled [CLS] output, named as Hugging Face
 * BertForSequenceClassification: `bert.*` (with `bert.pooler.dense`), `classifier.{weight,bias}`.
 * numLabels = 1 is regression (MSE), as HF infers it.
 */
export class BertForSequenceClassification extends Module {
  readonly config: BertConfig;
  readonly bert: BertModel;
  readonly dropout: Dropout;
  readonly classifier: BertLinear;
  constructor(config: BertConfigInput, options: { seed?: Seed } = {}) {
    super();
    this.config = bertConfig(config);
    const rng = rngOf(options.seed);
    const c = this.config;
    this.bert = this.registerModule('bert', new BertModel(c, { seed: rng.fork('bert') }));
    this.dropout = this.registerModule('dropout', new Dropout(c.classifierDropout ?? c.hiddenDropoutProb, { seed: rng.fork('dropout') }));
    this.classifier = this.registerModule('classifier', new BertLinear(c.hiddenSize, c.numLabels, c.initializerRange, rng.fork('classifier')));
  }

  /** Class logits [B, numLabels]. */
  forward(inputs: BertInputs | BertInputs['inputIds']): Tensor2D {
    const p = prepareInputs(this.config, inputs, 'BertForSequenceClassification');
    try {
      return tf.tidy(() => this.classifier.forward(this.dropout.forward(this.bert.pooler!.forward(this.bert.encode(p))))) as Tensor2D;
    } finally {
      p.dispose();
    }
  }

  /** Cross-entropy with int labels [B] in [0, numLabels) (MSE on float targets when numLabels = 1). */
  loss(inputs: BertInputs | BertInputs['inputIds'], labels: Tensor | readonly number[]): Tensor {
    const lab = Array.isArray(labels) ? (labels as readonly number[]) : Array.from((labels as Tensor).dataSync());
    const regression = this.config.numLabels === 1;
    if (!regression) {
      lab.forEach((l, i) => {
        if (!Number.isInteger(l) || l < 0 || l >= this.config.numLabels) throw new InvalidArgumentError(`BertForSequenceClassification.loss: label ${describe(l)} at index ${i} is outside [0, ${this.config.numLabels})`);
      });
    }
    return tf.tidy(() => {
      const logits = this.forward(inputs);
      if (logits.shape[0] !== lab.length) throw new ShapeError(`BertForSequenceClassification.loss: ${lab.length} labels for a batch of ${logits.shape[0]}`);
      if (regression) return mseLoss(tf.reshape(logits, [-1]), tf.tensor1d(lab as number[], 'float32'));
      return crossEntropy(logits, tf.tensor1d(lab as number[], 'int32'));
    });
  }
}
