import { InvalidArgumentError, describe, tf, type Tensor } from '@nutshell/core';
import { Module, type Dropout, type Parameter, type Seed } from '@nutshell/nn';
import { headsWithPast, type AttentionStep, type Block, type CausalSelfAttention } from '../gpt/block.js';
import type { GptConfig, GptConfigInput } from '../gpt/config.js';
import type { Conv1D } from '../gpt/conv1d.js';
import { KVCache } from '../gpt/kv-cache.js';
import { GPT } from '../gpt/model.js';
import { mm, mmT } from '../gpt/ops.js';
import { causalMaskAt, conv1d } from './ops.js';

export interface AdaptiveSpanOptions {
  /** Largest span S a head may grow to (default the context, nPositions). */
  maxSpan?: number;
  /** Ramp length R of the soft mask (default 4). */
  ramp?: number;
  /** Initial span as a fraction of maxSpan (default 1: every head starts seeing the whole context). */
  initSpan?: number;
  /** Weight of the span L1 penalty added by `loss` (default 0). */
  spanPenalty?: number;
}

/**
 * The soft span mask of Sukhbaatar et al. 2019, m_z(x) = clamp((R + z − x)/R, 0, 1), for heads'
 * spans z [H] over distances [T, S] (query position − key position): [H, T, S]. Differentiable in z.
 */
export function spanMask(z: Tensor, distances: Tensor, ramp: number): Tensor {
  return tf.tidy(() => {
    const H = z.shape[0]!;
    const zz = tf.reshape(z, [H, 1, 1]);
    return tf.clipByValue(tf.div(tf.sub(tf.add(zz, ramp), tf.expandDims(distances, 0)), ramp), 0, 1);
  });
}

/** The learnable spans of one attention layer: z = current_val · maxSpan (as facebookresearch/adaptive-span). */
export class AdaptiveMask extends Module {
  readonly current_val: Parameter;
  constructor(readonly nHead: number, readonly maxSpan: number, readonly ramp: number, initSpan: number) {
    super();
    this.current_val = this.registerParameter('current_val', tf.fill([nHead], initSpan));
  }
  /** Spans in tokens, z = current_val · maxSpan, as a [H] tensor. */
  spans(): Tensor {
    return tf.mul(this.current_val, this.maxSpan);
  }
  /** Keys a query can still see: ⌈max z + R⌉ (capped at maxSpan + R); older keys have mask 0. */
  memorySpan(): number {
    const v = Math.max(0, ...Array.from(this.current_val.dataSync()));
    return Math.ceil(Math.min(1, v) * this.maxSpan + this.ramp);
  }
  /** Keeps every current_val in [0, 1] (call after optimizer steps, as the reference code does). */
  clamp(): void {
    tf.tidy(() => this.current_val.assign(tf.clipByValue(this.current_val, 0, 1)));
  }
  forward(): never {
    throw new InvalidArgumentError('AdaptiveMask: use spans()');
  }
}

/**
 * GPT-2 attention with a learnable soft span per head: softmax weights are multiplied by
 * m_z(t − r) and renormalised, a = m·exp(s) / Σ m·exp(s). Shares the GPT block's Conv1Ds.
 */
export class AdaptiveSpanAttention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attnDropout: Dropout;
  readonly residDropout: Dropout;
  readonly adaptive_span: AdaptiveMask;
  constructor(readonly config: GptConfig, base: CausalSelfAttention, options: Required<Pick<AdaptiveSpanOptions, 'maxSpan' | 'ramp' | 'initSpan'>>) {
    super();
    this.c_attn = this.registerModule('c_attn', base.c_attn);
    this.c_proj = this.registerModule('c_proj', base.c_proj);
    this.attnDropout = this.registerModule('attn_dropout', base.attnDropout);
    this.residDropout = this.registerModule('resid_dropout', base.residDropout);
    this.adaptive_span = this.registerModule('adaptive_span', new AdaptiveMask(config.nHead, options.maxSpan, options.ramp, options.initSpan));
  }
  forward(x: Tensor, past?: { k: Tensor; v: Tensor } | null, start = 0): AttentionStep {
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.config.nHead;
    const d = C / H;
    return tf.tidy(() => {
      const { q, k, v } = headsWithPast(conv1d(x, this.c_attn.weight, this.c_attn.bias), H, d, this.config, past, start);
      const S = k.shape[2]!;
      // The cache may have dropped old keys: key j sits at absolute position keyStart + j.
      const keyStart = start + T - S;
      const dist = new Float32Array(T * S);
      for (let i = 0; i < T; i++) for (let j = 0; j < S; j++) dist[i * S + j] = start + i - (keyStart + j);
      const scores = tf.add(tf.mul(mmT(q, k), 1 / Math.sqrt(d)), causalMaskAt(T, S, start, keyStart));
      const mask = spanMask(this.adaptive_span.spans(), tf.tensor2d(dist, [T, S]), this.adaptive_span.ramp);
      const masked = tf.mul(tf.softmax(scores), mask);
      const w = this.attnDropout.forward(tf.div(masked, tf.add(tf.sum(masked, -1, true), 1e-8)));
      const y = tf.reshape(tf.transpose(mm(w, v), [0, 2, 1, 3]), [B, T, C]);
      const out = this.residDropout.forward(conv1d(y, this.c_proj.weight, this.c_proj.bias));
      return { out, k, v } as unknown as tf.TensorContainer;
    }) as unknown as AttentionStep;
  }
}

/**
 * A KV cache that keeps, per layer, only the keys a query can still attend to (its layer's
 * memorySpan), while `length` still counts every token seen so positions stay absolute.
 */
export class SpanKVCache extends KVCache {
  private seen: number[];
  constructor(nLayer: number, private readonly limit: (layer: number) => number) {
    super(nLayer);
    this.seen = new Array(nLayer).fill(0);
  }
  override get length(): number {
    return this.seen[0] ?? 0;
  }
  /** Keys held for layer l (≤ its memory span). */
  held(l: number): number {
    return this.keys[l]?.shape[2] ?? 0;
  }
  override set(l: number, k: Tensor, v: Tensor): void {
    const before = this.keys[l]?.shape[2] ?? 0;
    this.seen[l]! += k.shape[2]! - before;
    const keep = this.limit(l);
    const S = k.shape[2]!;
    if (S > keep) {
      const kk = tf.slice(k, [0, 0, S - keep, 0], [-1, -1, keep, -1]);
      const vv = tf.slice(v, [0, 0, S - keep, 0], [-1, -1, keep, -1]);
      k.dispose();
      v.dispose();
      super.set(l, kk, vv);
    } else super.set(l, k, v);
  }
  override clear(): void {
    super.clear();
    if (this.seen) this.seen.fill(0);
  }
}

/**
 * A GPT with adaptive attention span (Sukhbaatar et al. 2019; the book's "liquid" transformer):
 * every head learns its span z through the soft mask m_z, `loss` adds the L1 span penalty
 * λ·Σ_layers maxSpan·mean(current_val), and generation keeps only ⌈max z⌉ + R keys per layer.
 * State-dict names are GPT-2's plus `transformer.h.N.attn.adaptive_span.current_val`.
 */
export class AdaptiveSpanGPT extends GPT {
  readonly maxSpan: number;
  readonly ramp: number;
  spanPenaltyWeight: number;
  constructor(config: GptConfigInput, options: AdaptiveSpanOptions & { seed?: Seed } = {}) {
    super(config, { seed: options.seed });
    const maxSpan = options.maxSpan ?? this.config.nPositions;
    const ramp = options.ramp ?? 4;
    const initSpan = options.initSpan ?? 1;
    if (!Number.isInteger(maxSpan) || maxSpan < 1) throw new InvalidArgumentError(`AdaptiveSpanGPT: maxSpan must be a positive integer, got ${describe(maxSpan)}`);
    if (!(ramp > 0)) throw new InvalidArgumentError(`AdaptiveSpanGPT: ramp must be > 0, got ${describe(ramp)}`);
    if (!(initSpan >= 0 && initSpan <= 1)) throw new InvalidArgumentError(`AdaptiveSpanGPT: initSpan must be in [0, 1], got ${describe(initSpan)}`);
    const penalty = options.spanPenalty ?? 0;
    if (!(penalty >= 0)) throw new InvalidArgumentError(`AdaptiveSpanGPT: spanPenalty must be ≥ 0, got ${describe(penalty)}`);
    this.maxSpan = maxSpan;
    this.ramp = ramp;
    this.spanPenaltyWeight = penalty;
    for (const b of this.transformer.h) {
      const block = b as Block;
      block.setModule('attn', new AdaptiveSpanAttention(this.config, block.attn, { maxSpan, ramp, initSpan }));
    }
  }

  /** The per-layer span modules. */
  get masks(): AdaptiveMask[] {
    return [...this.transformer.h].map((b) => ((b as Block).attn as unknown as AdaptiveSpanAttention).adaptive_span);
  }

  /** Current spans in tokens, [layer][head]. */
  spans(): number[][] {
    return this.masks.map((m) => Array.from(m.current_val.dataSync(), (v) => v * m.maxSpan));
  }

  /** The span L1 penalty Σ_layers maxSpan·mean(current_val) (scalar; multiply by λ yourself). */
  spanLoss(): Tensor {
    return tf.tidy(() => tf.addN(this.masks.map((m) => tf.mul(tf.mean(m.current_val), m.maxSpan))));
  }

  /** Next-token cross-entropy plus spanPenaltyWeight · spanLoss(). */
  override loss(x: Tensor, y: Tensor): Tensor {
    return tf.tidy(() => {
      const ce = super.loss(x, y);
      return this.spanPenaltyWeight > 0 ? tf.add(ce, tf.mul(this.spanLoss(), this.spanPenaltyWeight)) : ce;
    });
  }

  /** Clamps every span to [0, maxSpan]; call after each optimizer step. */
  clampSpans(): void {
    for (const m of this.masks) m.clamp();
  }

  /** A KV cache bounded per layer by that layer's memory span (read when each step stores its keys). */
  override createCache(): SpanKVCache {
    const masks = this.masks;
    return new SpanKVCache(this.config.nLayer, (l) => masks[l]!.memorySpan());
  }
}
