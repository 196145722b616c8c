import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, Embedding, Module, init } from '@nutshell/nn';
import { mm, mmT } from '../gpt/ops.js';
import type { T5Config } from './config.js';
import { T5Dense } from './dense.js';

export interface T5AttentionStep {
  out: Tensor;
  /** Keys and values [B, H, S, dKv] of every position attended to (for the KV cache). */
  k: Tensor;
  v: Tensor;
}

export interface T5AttentionInputs {
  /** Cross-attention: the encoder states [B, S, dModel] keys and values are projected from. */
  keyValueStates?: Tensor;
  /** Position bias plus additive mask, broadcastable to [B, H, T, S]. */
  bias: Tensor;
  /** Self-attention: cached keys/values of earlier positions (new ones are appended). */
  past?: { k: Tensor; v: Tensor } | null;
  /** Cross-attention: keys/values already projected from the encoder states. */
  cached?: { k: Tensor; v: Tensor } | null;
}

/**
 * HF T5Attention: q, k, v, o without bias, heads of size dKv, scores q·kᵀ with no 1/√d scaling
 * (T5 folds it into q's initialisation), plus the position bias; `relative_attention_bias` exists
 * only where HF has it (block 0's self-attention).
 */
export class T5Attention extends Module {
  readonly q: T5Dense;
  readonly k: T5Dense;
  readonly v: T5Dense;
  readonly o: T5Dense;
  readonly relative_attention_bias: Embedding | null;
  readonly dropout: Dropout;
  constructor(readonly config: T5Config, readonly isDecoder: boolean, hasRelativeAttentionBias: boolean, rng: Rng) {
    super();
    const { dModel, dKv, numHeads: H, initializerFactor: f } = config;
    const inner = H * dKv;
    this.q = this.registerModule('q', new T5Dense(dModel, inner, f * (dModel * dKv) ** -0.5, rng.fork('q')));
    this.k = this.registerModule('k', new T5Dense(dModel, inner, f * dModel ** -0.5, rng.fork('k')));
    this.v = this.registerModule('v', new T5Dense(dModel, inner, f * dModel ** -0.5, rng.fork('v')));
    this.o = this.registerModule('o', new T5Dense(inner, dModel, f * inner ** -0.5, rng.fork('o')));
    this.relative_attention_bias = null;
    if (hasRelativeAttentionBias) {
      const n = config.relativeAttentionNumBuckets;
      const e = new Embedding(n, H, { seed: rng.fork('rab') });
      const w = init.normal([n, H], 0, f * dModel ** -0.5, rng.fork('rab/normal'));
      e.weight.assign(w);
      w.dispose();
      this.relative_attention_bias = this.registerModule('relative_attention_bias', e);
    }
    this.dropout = this.registerModule('dropout', new Dropout(config.dropoutRate, { seed: rng.fork('dropout') }));
  }

  private heads(t: Tensor): Tensor {
    const [B, T] = t.shape as [number, number, number];
    return tf.transpose(tf.reshape(t, [B, T, this.config.numHeads, this.config.dKv]), [0, 2, 1, 3]);
  }

  forward(x: Tensor, inputs: T5AttentionInputs): T5AttentionStep {
    const [B, T] = x.shape as [number, number, number];
    return tf.tidy(() => {
      const q = this.heads(this.q.forward(x));
      let k: Tensor;
      let v: Tensor;
      if (inputs.cached) ({ k, v } = inputs.cached);
      else {
        const src = inputs.keyValueStates ?? x;
        k = this.heads(this.k.forward(src));
        v = this.heads(this.v.forward(src));
        if (inputs.past) {
          k = tf.concat([inputs.past.k, k], 2);
          v = tf.concat([inputs.past.v, v], 2);
        }
      }
      const scores = tf.add(mmT(q, k), inputs.bias);
      const w = this.dropout.forward(tf.softmax(scores));
      const y = tf.reshape(tf.transpose(mm(w, v), [0, 2, 1, 3]), [B, T, this.config.numHeads * this.config.dKv]);
      // With `cached`, k and v are the cache's own tensors, returned as they are.
      return { out: this.o.forward(y), k, v } as unknown as tf.TensorContainer;
    }) as unknown as T5AttentionStep;
  }
}
