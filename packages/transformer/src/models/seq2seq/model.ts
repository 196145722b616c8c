import { InvalidArgumentError, Rng, ShapeError, describe, rngFor, tf, type Tensor, type Tensor2D, type Tensor3D } from '@nutshell/core';
import { Embedding, Module, crossEntropy, init, type Seed } from '@nutshell/nn';
import { embed, mmT } from '../gpt/ops.js';
import type { T5Block } from './block.js';
import { Seq2seqCache } from './cache.js';
import { t5Config, type T5Config, type T5ConfigInput } from './config.js';
import { T5Dense } from './dense.js';
import { positionBias } from './relative-position.js';
import { T5Stack, causalMask, extendedMask } from './stack.js';

/** Token ids: an int32 [B, T] tensor or equal-length rows. */
export type IdsInput = Tensor | readonly (readonly number[])[];

/** Label value that contributes no loss (PyTorch / HF ignore index); padded label positions use it. */
export const IGNORE_INDEX = -100;

export interface T5DecodeOptions {
  /** Encoder padding mask [B, S] (1 = token, 0 = padding); default all ones. */
  attentionMask?: IdsInput;
  /** Decoder KV cache: the ids are the tokens after the cached ones and the cache grows by T. */
  cache?: Seq2seqCache;
  /** Logits of the last position only ([B, 1, V]). */
  lastOnly?: boolean;
}

/**
 * A T5 encoder–decoder (HF T5ForConditionalGeneration, v1.0 and v1.1) with Hugging Face's parameter
 * names: `shared.weight`, `encoder.block.0.layer.0.SelfAttention.q.weight`, …,
 * `decoder.block.N.layer.1.EncDecAttention.o.weight`, `…layer.2.DenseReluDense.wi.weight`
 * (`wi_0`/`wi_1` when gated), `…final_layer_norm.weight`, `lm_head.weight` when untied.
 */
export class T5 extends Module {
  readonly config: T5Config;
  readonly shared: Embedding;
  readonly encoder: T5Stack;
  readonly decoder: T5Stack;
  readonly lm_head: T5Dense | null;
  constructor(config: T5ConfigInput, options: { seed?: Seed } = {}) {
    super();
    this.config = t5Config(config);
    const c = this.config;
    const s = options.seed;
    const rng = s instanceof Rng ? s : new Rng(s === undefined ? rngFor().nextUint32() : s);
    this.shared = this.registerModule('shared', new Embedding(c.vocabSize, c.dModel, { seed: rng.fork('shared') }));
    const w = init.normal([c.vocabSize, c.dModel], 0, c.initializerFactor, rng.fork('shared/normal'));
    this.shared.weight.assign(w);
    w.dispose();
    this.encoder = this.registerModule('encoder', new T5Stack(c, false, rng.fork('encoder')));
    this.decoder = this.registerModule('decoder', new T5Stack(c, true, rng.fork('decoder')));
    this.lm_head = c.tieWordEmbeddings ? null : this.registerModule('lm_head', new T5Dense(c.dModel, c.vocabSize, c.initializerFactor, rng.fork('lm_head')));
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** Checks ids (an int32 [B, T] tensor or equal-length rows); `allowIgnore` lets labels hold −100. */
  toIds(ids: IdsInput, what = 'ids', allowIgnore = false): Tensor2D {
    if (Array.isArray(ids)) {
      const rows = ids as readonly (readonly number[])[];
      const T = rows[0]?.length ?? 0;
      if (!rows.length || !T || rows.some((r) => !Array.isArray(r) || r.length !== T)) throw new ShapeError(`T5: expected ${what} as a non-empty [batch, time] array of equal-length rows, got ${describe(ids)}`);
      const V = this.config.vocabSize;
      for (const r of rows) {
        for (const id of r) {
          if (allowIgnore && id === IGNORE_INDEX) continue;
          if (!Number.isInteger(id) || id < 0 || id >= V) throw new InvalidArgumentError(`T5: ${what} token id ${describe(id)} is outside the vocabulary [0, ${V})`);
        }
      }
      return tf.tensor2d(rows.map((r) => [...r]), [rows.length, T], 'int32');
    }
    const t = ids as Tensor;
    if (!t || t.rank !== 2) throw new ShapeError(`T5: expected ${what} of shape [batch, time], got ${describe(ids)}`);
    if (t.dtype !== 'int32') throw new InvalidArgumentError(`T5: expected int32 ${what}, got ${t.dtype}`);
    return t as Tensor2D;
  }

  private toMask(mask: IdsInput | undefined, B: number, S: number): Tensor {
    if (mask === undefined) return tf.ones([B, S], 'int32');
    const m = Array.isArray(mask) ? tf.tensor2d((mask as number[][]).map((r) => [...r]), undefined, 'int32') : tf.clone(mask as Tensor);
    if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== S) {
      const shape = m.shape;
      m.dispose();
      throw new ShapeError(`T5: attentionMask must be [${B}, ${S}] like the input ids, got [${shape.join(', ')}]`);
    }
    return m;
  }

  /** Encoder output [B, S, dModel] (after final_layer_norm) for input ids [B, S]. */
  encode(inputIds: IdsInput, attentionMask?: IdsInput): Tensor3D {
    const x = this.toIds(inputIds, 'input ids');
    const [B, S] = x.shape;
    const mask = this.toMask(attentionMask, B, S);
    try {
      return tf.tidy(() => {
        const enc = this.encoder;
        let h = enc.dropout.forward(embed(this.shared.weight, x));
        const bias = tf.add(positionBias(enc.relativeAttentionBias, S, S, 0, true, this.config.relativeAttentionMaxDistance), extendedMask(mask));
        for (const block of enc.blocks) h = block.forward(h, { selfBias: bias }).out;
        return enc.dropout.forward(enc.final_layer_norm.forward(h));
      }) as Tensor3D;
    } finally {
      if (x !== inputIds) x.dispose();
      mask.dispose();
    }
  }

  /**
   * Decoder logits [B, T, vocab] for decoder input ids [B, T] given encoder states [B', S, dModel]
   * (B' = B, or 1 broadcast over the batch is not supported: repeat rows first).
   */
  decode(decoderInputIds: IdsInput, encoderStates: Tensor, options: T5DecodeOptions = {}): Tensor3D {
    const y = this.toIds(decoderInputIds, 'decoder input ids');
    const [B, T] = y.shape;
    const cache = options.cache;
    if (encoderStates.rank !== 3 || encoderStates.shape[0] !== B || encoderStates.shape[2] !== this.config.dModel) {
      if (y !== decoderInputIds) y.dispose();
      throw new ShapeError(`T5: encoder states must be [${B}, S, ${this.config.dModel}], got [${encoderStates.shape.join(', ')}]`);
    }
    const S = encoderStates.shape[1]!;
    const mask = this.toMask(options.attentionMask, B, S);
    try {
      if (cache && cache.batchSize !== undefined && cache.batchSize !== B) throw new ShapeError(`T5: the cache holds ${cache.batchSize} sequences, got a batch of ${B}`);
      const start = cache?.length ?? 0;
      const dec = this.decoder;
      const blocks = dec.blocks;
      const out = tf.tidy(() => {
        let h = dec.dropout.forward(embed(this.shared.weight, y));
        const selfBias = tf.add(positionBias(dec.relativeAttentionBias, T, start + T, start, false, this.config.relativeAttentionMaxDistance), causalMask(T, start + T, start));
        const crossBias = extendedMask(mask);
        const steps = blocks.map((block: T5Block, l) => {
          const r = block.forward(h, { selfBias, past: cache?.self[l], encoderStates, crossBias, crossCached: cache?.cross[l] });
          h = r.out;
          return r;
        });
        h = dec.dropout.forward(dec.final_layer_norm.forward(h));
        if (options.lastOnly) h = tf.slice(h, [0, T - 1, 0], [B, 1, -1]);
        const logits = this.head(h);
        const keep: Record<string, unknown> = { logits };
        if (cache) keep.steps = steps.map((r) => ({ selfK: r.selfK, selfV: r.selfV, crossK: r.crossK, crossV: r.crossV }));
        return keep as unknown as tf.TensorContainer;
      }) as unknown as { logits: Tensor3D; steps?: { selfK: Tensor; selfV: Tensor; crossK: Tensor; crossV: Tensor }[] };
      if (cache) {
        out.steps!.forEach((r, l) => {
          cache.setSelf(l, r.selfK, r.selfV);
          if (!cache.cross[l]) cache.setCross(l, r.crossK, r.crossV);
        });
      }
      return out.logits;
    } finally {
      if (y !== decoderInputIds) y.dispose();
      mask.dispose();
    }
  }

  /** lm_head on decoder states; a tied head first rescales by dModel^−0.5 (HF T5). */
  private head(h: Tensor): Tensor {
    return tf.tidy(() => {
      const D = this.config.dModel;
      let flat = tf.reshape(h, [-1, D]);
      let logits: Tensor;
      if (this.lm_head) logits = this.lm_head.forward(flat);
      else {
        flat = tf.mul(flat, D ** -0.5);
        logits = mmT(flat, this.shared.weight);
      }
      return tf.reshape(logits, [...h.shape.slice(0, -1), this.config.vocabSize]);
    });
  }

  /** Logits [B, T, vocab] of the decoder fed decoderInputIds, attending to the encoded inputIds. */
  forward(inputIds: IdsInput, decoderInputIds: IdsInput, attentionMask?: IdsInput): Tensor3D {
    const enc = this.encode(inputIds, attentionMask);
    try {
      return this.decode(decoderInputIds, enc, { attentionMask });
    } finally {
      enc.dispose();
    }
  }

  /** HF `_shift_right`: decoder inputs = [decoderStart, labels[:-1]], with −100 replaced by pad. */
  shiftRight(labels: IdsInput): Tensor2D {
    const l = this.toIds(labels, 'labels', true);
    try {
      return tf.tidy(() => {
        const [B, T] = l.shape;
        const start = tf.fill([B, 1], this.config.decoderStartTokenId, 'int32');
        const shifted = tf.concat([start, tf.slice(l, [0, 0], [B, T - 1])], 1);
        return tf.where(tf.equal(shifted, IGNORE_INDEX), tf.fill([B, T], this.config.padTokenId, 'int32'), shifted);
      }) as Tensor2D;
    } finally {
      if (l !== labels) l.dispose();
    }
  }

  /** Mean cross-entropy of the labels [B, T] (teacher forcing; −100 positions ignored), as HF's `labels=` loss. */
  loss(inputIds: IdsInput, labels: IdsInput, attentionMask?: IdsInput): Tensor {
    const l = this.toIds(labels, 'labels', true);
    try {
      return tf.tidy(() => {
        const dec = this.shiftRight(l);
        const logits = this.forward(inputIds, dec, attentionMask);
        return crossEntropy(tf.reshape(logits, [-1, this.config.vocabSize]), tf.reshape(l, [-1]), { ignoreIndex: IGNORE_INDEX });
      });
    } finally {
      if (l !== labels) l.dispose();
    }
  }

  /** A new, empty decoder KV cache. */
  createCache(): Seq2seqCache {
    return new Seq2seqCache(this.config.numDecoderLayers);
  }
}
