import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { softmax } from '../activations.js';
import { xavierUniform, zeros, type Seed } from '../init.js';
import { Module, type Parameter } from '../module.js';
import { Linear } from './linear.js';

const NEG = -1e9; // masked scores: finite, so fully masked rows give uniform weights, not NaN

/**
 * Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention:
 * softmax(q kᵀ · scale + mask) v over the last two dims ([…, L, d] × […, S, d]). A boolean mask
 * (1 = attend, PyTorch's SDPA convention) or an additive float mask broadcasts to […, L, S].
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: { mask?: Tensor; causal?: boolean; scale?: number; returnWeights?: boolean } = {}): { output: Tensor; weights?: Tensor } {
  if (q.rank < 2 || k.rank !== q.rank || v.rank !== q.rank || q.shape[q.rank - 1] !== k.shape[k.rank - 1]) {
    throw new ShapeError(`scaledDotProductAttention: expected q [..., L, d], k [..., S, d], v [..., S, dv] of equal rank, got [${q.shape.join(', ')}], [${k.shape.join(', ')}], [${v.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const d = q.shape[q.rank - 1]!;
    const L = q.shape[q.rank - 2]!;
    const S = k.shape[k.rank - 2]!;
    let scores = tf.mul(tf.matMul(q, k, false, true), options.scale ?? 1 / Math.sqrt(d));
    if (options.causal) {
      const allowed = tf.linalg.bandPart(tf.ones([L, S]), -1, 0);
      scores = tf.add(scores, tf.mul(tf.sub(1, allowed), NEG));
    }
    if (options.mask) {
      scores = options.mask.dtype === 'bool'
        ? tf.add(scores, tf.mul(tf.sub(1, tf.cast(options.mask, 'float32')), NEG))
        : tf.add(scores, options.mask);
    }
    const weights = softmax(scores, -1);
    const output = tf.matMul(weights, v);
    return (options.returnWeights ? { output, weights } : { output }) as unknown as tf.TensorContainer;
  }) as unknown as { output: Tensor; weights?: Tensor };
}

export interface MultiHeadAttentionOptions {
  bias?: boolean;
  seed?: Seed;
}

export interface MHACallOptions {
  /** [B, S] boolean: true = padding, ignore this key (PyTorch's key_padding_mask). */
  keyPaddingMask?: Tensor;
  /** [L, S] or [B·heads, L, S]: boolean true = may NOT attend (nn.MultiheadAttention), or additive float. */
  attnMask?: Tensor;
  /** Mask future positions (self-attention, L = S). */
  causal?: boolean;
  /** Also return attention weights (default true, like PyTorch). */
  needWeights?: boolean;
  /** Average the weights over heads (default true) or return [B, heads, L, S]. */
  averageWeights?: boolean;
}

/**
 * torch.nn.MultiheadAttention with batch_first inputs ([B, L, E]) and PyTorch's parameter layout
 * (`in_proj_weight` [3E, E], `in_proj_bias`, `out_proj.weight`, `out_proj.bias`). Self-attention
 * when key/value are omitted; cross-attention otherwise.
 */
export class MultiHeadAttention extends Module {
  readonly inProjWeight: Parameter;
  readonly inProjBias: Parameter | null;
  readonly outProj: Linear;
  readonly headDim: number;

  constructor(readonly embedDim: number, readonly numHeads: number, options: MultiHeadAttentionOptions = {}) {
    super();
    assertPositiveInt('MultiHeadAttention embedDim', embedDim);
    assertPositiveInt('MultiHeadAttention numHeads', numHeads);
    if (embedDim % numHeads) throw new InvalidArgumentError(`MultiHeadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    this.headDim = embedDim / numHeads;
    const rng = rngFor(options.seed);
    this.inProjWeight = this.registerParameter('in_proj_weight', xavierUniform([3 * embedDim, embedDim], 1, rng));
    this.inProjBias = options.bias === false ? null : this.registerParameter('in_proj_bias', zeros([3 * embedDim]));
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias: options.bias !== false, seed: rng }));
    if (this.outProj.bias) tf.tidy(() => this.outProj.bias!.assign(tf.zeros([embedDim])));
  }

  forward(query: Tensor, key?: Tensor, value?: Tensor, options: MHACallOptions = {}): { output: Tensor; weights?: Tensor } {
    const k0 = key ?? query;
    const v0 = value ?? k0;
    const E = this.embedDim;
    for (const [n, t] of [['query', query], ['key', k0], ['value', v0]] as const) {
      if (t.rank !== 3 || t.shape[2] !== E) throw new ShapeError(`MultiHeadAttention: expected ${n} [batch, length, ${E}], got shape [${t.shape.join(', ')}]`);
    }
    const [B, L] = query.shape as [number, number, number];
    const S = k0.shape[1]!;
    if (k0.shape[0] !== B || v0.shape[0] !== B || v0.shape[1] !== S) throw new ShapeError(`MultiHeadAttention: batch/length mismatch: query [${query.shape.join(', ')}], key [${k0.shape.join(', ')}], value [${v0.shape.join(', ')}]`);
    const h = this.numHeads;
    const d = this.headDim;
    return tf.tidy(() => {
      const [wq, wk, wv] = tf.split(this.inProjWeight, 3, 0) as [Tensor, Tensor, Tensor];
      const [bq, bk, bv] = this.inProjBias ? (tf.split(this.inProjBias, 3, 0) as [Tensor, Tensor, Tensor]) : [null, null, null];
      const proj = (x: Tensor, w: Tensor, b: Tensor | null, n: number) => {
        let y = tf.matMul(tf.reshape(x, [-1, E]), w, false, true);
        if (b) y = tf.add(y, b);
        return tf.transpose(tf.reshape(y, [B, n, h, d]), [0, 2, 1, 3]); // [B, h, n, d]
      };
      const q = proj(query, wq, bq, L);
      const k = proj(k0, wk, bk, S);
      const v = proj(v0, wv, bv, S);
      // Additive mask [B, h or 1, L, S] built from the PyTorch-style masks.
      let add: Tensor | undefined;
      if (options.attnMask) {
        const m = options.attnMask;
        const m4 = m.rank === 2 ? tf.reshape(m, [1, 1, L, S]) : tf.reshape(m, [B, h, L, S]);
        add = m.dtype === 'bool' ? tf.mul(tf.cast(m4, 'float32'), NEG) : m4;
      }
      if (options.keyPaddingMask) {
        const kp = options.keyPaddingMask;
        if (kp.rank !== 2 || kp.shape[0] !== B || kp.shape[1] !== S) throw new ShapeError(`MultiHeadAttention: expected keyPaddingMask [${B}, ${S}], got [${kp.shape.join(', ')}]`);
        const a = tf.mul(tf.reshape(tf.cast(kp, 'float32'), [B, 1, 1, S]), NEG);
        add = add ? tf.add(add, a) : a;
      }
      const { output, weights } = scaledDotProductAttention(q, k, v, { mask: add, causal: options.causal, returnWeights: true });
      const merged = tf.reshape(tf.transpose(output, [0, 2, 1, 3]), [B, L, E]);
      const out = this.outProj.forward(merged);
      if (options.needWeights === false) return { output: out } as unknown as tf.TensorContainer;
      const w = options.averageWeights === false ? weights! : tf.mean(weights!, 1);
      return { output: out, weights: w } as unknown as tf.TensorContainer;
    }) as unknown as { output: Tensor; weights?: Tensor };
  }
}
