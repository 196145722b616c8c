import { InvalidArgumentError, describe, tf, type Tensor } from '@nutshell/core';
import { Module, type Dropout, type Seed } from '@nutshell/nn';
import { headsWithPast, type AttentionStep, type Block, type CausalSelfAttention, type Mlp } from '../gpt/block.js';
import type { GptConfig, GptConfigInput } from '../gpt/config.js';
import type { Conv1D } from '../gpt/conv1d.js';
import { GPT } from '../gpt/model.js';
import { mm, mmT } from '../gpt/ops.js';
import { causalMaskAt, conv1d, gptActivation } from './ops.js';

/** The widths slimmable networks train and switch between (Yu et al. 2019). */
export const SLIMMABLE_WIDTHS: readonly number[] = [0.25, 0.5, 0.75, 1];

/** ⌈m·n⌉, robust to float error (0.7·10 is 7.000000000000001). */
export function widthCount(m: number, n: number): number {
  return Math.max(1, Math.ceil(m * n - 1e-9));
}

/** Columns [from, from+n) of a [rows, cols] matrix, or the matrix itself when that is all of it. */
function cols(w: Tensor, from: number, n: number): Tensor {
  return from === 0 && n === w.shape[1] ? w : tf.slice(w, [0, from], [-1, n]);
}

/**
 * GPT-2 attention that uses only its first `activeHeads` heads: the q, k, v columns of those
 * heads in c_attn and the matching rows of c_proj. Holds the very Conv1D modules of the GPT block
 * (same names, same variables), so every width shares one set of weights.
 */
export class SlimmableAttention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attnDropout: Dropout;
  readonly residDropout: Dropout;
  activeHeads: number;
  constructor(readonly config: GptConfig, base: CausalSelfAttention) {
    super();
    this.c_attn = this.registerModule('c_attn', base.c_attn);
    this.c_proj = this.registerModule('c_proj', base.c_proj);
    this.attnDropout = this.registerModule('attn_dropout', base.attnDropout);
    this.residDropout = this.registerModule('resid_dropout', base.residDropout);
    this.activeHeads = config.nHead;
  }
  forward(x: Tensor, past?: { k: Tensor; v: Tensor } | null, start = 0): AttentionStep {
    const [B, T] = x.shape as [number, number, number];
    const C = this.config.nEmbd;
    const d = C / this.config.nHead;
    const h = this.activeHeads;
    const full = h === this.config.nHead;
    return tf.tidy(() => {
      let qkv: Tensor;
      if (full) qkv = conv1d(x, this.c_attn.weight, this.c_attn.bias);
      else {
        // q, k and v of the first h heads: three column blocks of c_attn.
        const w = tf.concat([0, C, 2 * C].map((o) => cols(this.c_attn.weight, o, h * d)), 1);
        const b = this.c_attn.bias ? tf.concat([0, C, 2 * C].map((o) => tf.slice(this.c_attn.bias!, [o], [h * d])), 0) : null;
        qkv = conv1d(x, w, b);
      }
      const { q, k, v } = headsWithPast(qkv, h, d, this.config, past, start);
      const S = k.shape[2]!;
      let scores = tf.mul(mmT(q, k), 1 / Math.sqrt(d));
      if (T > 1 || S > start + 1) scores = tf.add(scores, causalMaskAt(T, S, start));
      const w = this.attnDropout.forward(tf.softmax(scores));
      const y = tf.reshape(tf.transpose(mm(w, v), [0, 2, 1, 3]), [B, T, h * d]);
      const wo = full ? this.c_proj.weight : tf.slice(this.c_proj.weight, [0, 0], [h * d, -1]);
      const out = this.residDropout.forward(conv1d(y, wo, this.c_proj.bias));
      return { out, k, v } as unknown as tf.TensorContainer;
    }) as unknown as AttentionStep;
  }
}

/** GPT-2's MLP on its first `activeChannels` hidden channels (c_fc columns, c_proj rows). */
export class SlimmableMlp extends Module {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly dropout: Dropout;
  activeChannels: number;
  constructor(readonly config: GptConfig, base: Mlp) {
    super();
    this.c_fc = this.registerModule('c_fc', base.c_fc);
    this.c_proj = this.registerModule('c_proj', base.c_proj);
    this.dropout = this.registerModule('dropout', base.dropout);
    this.activeChannels = config.nInner;
  }
  forward(x: Tensor): Tensor {
    const f = this.activeChannels;
    const full = f === this.config.nInner;
    return tf.tidy(() => {
      const wi = cols(this.c_fc.weight, 0, f);
      const bi = this.c_fc.bias && !full ? tf.slice(this.c_fc.bias, [0], [f]) : this.c_fc.bias;
      const act = gptActivation(this.config.activation, conv1d(x, wi, bi));
      const wo = full ? this.c_proj.weight : tf.slice(this.c_proj.weight, [0, 0], [f, -1]);
      return this.dropout.forward(conv1d(act, wo, this.c_proj.bias));
    });
  }
}

/**
 * A GPT whose width can be switched at run time (slimmable networks, Yu et al. 2019, applied to a
 * transformer): `setWidth(m)` keeps the first ⌈m·nHead⌉ attention heads and ⌈m·nInner⌉ MLP
 * channels of every block, all widths sharing one set of weights. The residual stream, embeddings
 * and layer norms stay full width (a transformer's LayerNorm normalises over d_model, which is not
 * slimmed, so no switchable norms are needed). Width 1 is the plain GPT, bit for bit; the state
 * dict is the GPT's (HF GPT-2 names), so `saveGpt2` / `loadStateDict` work unchanged.
 */
export class SlimmableGPT extends GPT {
  private currentWidth = 1;
  constructor(config: GptConfigInput, options: { seed?: Seed } = {}) {
    super(config, options);
    for (const b of this.transformer.h) {
      const block = b as Block;
      block.setModule('attn', new SlimmableAttention(this.config, block.attn));
      block.setModule('mlp', new SlimmableMlp(this.config, block.mlp));
    }
  }

  /** A slimmable copy of a trained GPT (same config, weights copied). */
  static fromGpt(gpt: GPT): SlimmableGPT {
    const m = new SlimmableGPT(gpt.config, { seed: 0 });
    m.loadStateDict(gpt.stateDict());
    m.train(gpt.training);
    return m;
  }

  get width(): number {
    return this.currentWidth;
  }

  /** Heads and MLP channels active per block at the current width. */
  get activeHeads(): number {
    return widthCount(this.currentWidth, this.config.nHead);
  }
  get activeChannels(): number {
    return widthCount(this.currentWidth, this.config.nInner);
  }

  /** Switches every block to its first ⌈m·h⌉ heads and ⌈m·d_ff⌉ MLP channels; m ∈ (0, 1]. */
  setWidth(m: number): this {
    if (typeof m !== 'number' || !(m > 0 && m <= 1)) throw new InvalidArgumentError(`SlimmableGPT.setWidth: width must be in (0, 1], got ${describe(m)}`);
    this.currentWidth = m;
    for (const b of this.transformer.h) {
      const block = b as Block;
      (block.attn as unknown as SlimmableAttention).activeHeads = this.activeHeads;
      (block.mlp as unknown as SlimmableMlp).activeChannels = this.activeChannels;
    }
    return this;
  }

  /** Runs fn at width m, then restores the previous width. */
  withWidth<R>(m: number, fn: () => R): R {
    const prev = this.currentWidth;
    this.setWidth(m);
    try {
      return fn();
    } finally {
      this.setWidth(prev);
    }
  }

  /** Parameters a forward pass at the current width reads (tied head counted once). */
  activeParameters(): number {
    const c = this.config;
    const C = c.nEmbd;
    const hd = this.activeHeads * (C / c.nHead);
    const f = this.activeChannels;
    const b = c.bias ? 1 : 0;
    const ln = C * (1 + b);
    const perBlock = 2 * ln + (C * 3 * hd + 3 * hd * b) + (hd * C + C * b) + (C * f + f * b) + (f * C + C * b);
    const emb = c.vocabSize * C + (c.positionEmbedding === 'learned' ? c.nPositions * C : 0);
    return emb + c.nLayer * perBlock + ln + (c.tieWeights ? 0 : c.vocabSize * C);
  }

  /**
   * Forward multiply–add FLOPs (2 per multiply–add) per token at the current width for a context
   * of `context` tokens: the block matmuls, attention scores and weighted sums, and the head.
   */
  flopsPerToken(context = this.config.nPositions): number {
    const c = this.config;
    const C = c.nEmbd;
    const hd = this.activeHeads * (C / c.nHead);
    const f = this.activeChannels;
    const perBlock = 2 * (C * 3 * hd + hd * C + 2 * C * f) + 2 * 2 * context * hd;
    return c.nLayer * perBlock + 2 * C * c.vocabSize;
  }
}
