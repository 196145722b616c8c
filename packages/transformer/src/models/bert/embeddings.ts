import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, Embedding, LayerNorm, Module, init } from '@nutshell/nn';
import { embed } from '../gpt/ops.js';
import type { BertConfig } from './config.js';
import { reinit } from './layers.js';

/** HF BertEmbeddings: word + absolute position + token type embeddings → LayerNorm → dropout. */
export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    const { vocabSize, hiddenSize, maxPositionEmbeddings, typeVocabSize, initializerRange: std, padTokenId } = config;
    const emb = (name: string, n: number) => {
      const e = new Embedding(n, hiddenSize, { seed: rng.fork(name) });
      reinit(e.weight, init.normal([n, hiddenSize], 0, std, rng.fork(`${name}/normal`)));
      return this.registerModule(name, e);
    };
    this.word_embeddings = emb('word_embeddings', vocabSize);
    // HF zeroes the padding row at init (nn.Embedding padding_idx).
    const keep = tf.tidy(() => tf.sub(1, tf.reshape(tf.oneHot([padTokenId], vocabSize), [vocabSize, 1])));
    reinit(this.word_embeddings.weight, tf.mul(this.word_embeddings.weight, keep));
    keep.dispose();
    this.position_embeddings = emb('position_embeddings', maxPositionEmbeddings);
    this.token_type_embeddings = emb('token_type_embeddings', typeVocabSize);
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb, { seed: rng.fork('dropout') }));
  }

  /** ids, tokenTypeIds: int32 [B, T] (already validated). */
  forward(ids: Tensor, tokenTypeIds: Tensor): Tensor {
    const T = ids.shape[1]!;
    return tf.tidy(() => {
      let h = embed(this.word_embeddings.weight, ids);
      h = tf.add(h, embed(this.position_embeddings.weight, tf.range(0, T, 1, 'int32')));
      h = tf.add(h, embed(this.token_type_embeddings.weight, tokenTypeIds));
      return this.dropout.forward(this.LayerNorm.forward(h));
    });
  }
}
