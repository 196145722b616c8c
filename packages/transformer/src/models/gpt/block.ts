import { FUSED_ACTIVATIONS, FUSED_KERNELS, Rng, fusedActivation, fusedCausalAttention, hasFusedKernel, tf, type FusedActivation, type Tensor } from '@nutshell/core';
import { Dropout, LayerNorm, Module, gelu } from '@nutshell/nn';
import { geluNew, mm, mmT } from './ops.js';
import type { GptActivation, GptConfig } from './config.js';
import { Conv1D } from './conv1d.js';
import { applyRope } from './rope.js';

const NEG = -1e9;

/** Additive causal mask [T, S] for queries at absolute positions start..start+T−1 over keys 0..S−1. */
function causalMask(T: number, S: number, start: number): Tensor {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = start + i + 1; j < S; j++) m[i * S + j] = NEG;
  return tf.tensor2d(m, [T, S]);
}

/**
 * Per-head queries, keys and values [B, H, ·, d] from a fused qkv [B, T, 3·H·d], rotary positions
 * applied when configured and this step's keys/values appended to the cached ones. Shared by the
 * GPT attention and its slimmable and adaptive-span variants; call inside tf.tidy.
 */
export function headsWithPast(qkv: Tensor, H: number, d: number, config: GptConfig, past: { k: Tensor; v: Tensor } | null | undefined, start: number): { q: Tensor; k: Tensor; v: Tensor } {
  const [B, T] = qkv.shape as [number, number];
  const heads = (t: Tensor) => tf.transpose(tf.reshape(t, [B, T, H, d]), [0, 2, 1, 3]);
  const [q0, k0, v0] = tf.split(qkv, 3, 2).map(heads) as [Tensor, Tensor, Tensor];
  const rope = config.positionEmbedding === 'rope';
  const q = rope ? applyRope(q0, start, config.ropeTheta) : q0;
  const kNew = rope ? applyRope(k0, start, config.ropeTheta) : k0;
  return { q, k: past ? tf.concat([past.k, kNew], 2) : kNew, v: past ? tf.concat([past.v, v0], 2) : v0 };
}

export interface AttentionStep {
  out: Tensor;
  /** Keys and values of all positions so far ([B, H, S, d]), for the KV cache; absent when not asked for. */
  k?: Tensor;
  v?: Tensor;
}

/** GPT-2's causal self-attention: c_attn (fused q, k, v; Conv1D) → heads → softmax(qkᵀ/√d + mask) v → c_proj. */
export class CausalSelfAttention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attnDropout: Dropout;
  readonly residDropout: Dropout;
  readonly headDim: number;
  constructor(readonly config: GptConfig, rng: Rng) {
    super();
    const { nEmbd, bias, initializerRange, nLayer } = config;
    this.headDim = nEmbd / config.nHead;
    this.c_attn = this.registerModule('c_attn', new Conv1D(nEmbd, 3 * nEmbd, { bias, std: initializerRange, rng }));
    // GPT-2 scales residual projections by 1/√(2·n_layer) at init.
    this.c_proj = this.registerModule('c_proj', new Conv1D(nEmbd, nEmbd, { bias, std: initializerRange / Math.sqrt(2 * nLayer), rng }));
    this.attnDropout = new Dropout(config.dropout, { seed: rng.fork('attn_dropout') });
    this.residDropout = new Dropout(config.dropout, { seed: rng.fork('resid_dropout') });
    // Unregistered dropouts have no parameters but their counters must be checkpointed; register them.
    this.registerModule('attn_dropout', this.attnDropout);
    this.registerModule('resid_dropout', this.residDropout);
  }

  /**
   * Whether the whole attention can run as the backend's fused causal-attention kernel (forward and
   * backward): no cache in play, learned positions, no attention dropout in effect.
   */
  private fusable(past: unknown, start: number, wantKV: boolean): boolean {
    const c = this.config;
    return !past && start === 0 && !wantKV && c.positionEmbedding !== 'rope' && (c.dropout === 0 || !this.training) && hasFusedKernel(FUSED_KERNELS.attention);
  }

  /** `wantKV`: return this step's keys and values (for a KV cache); without it the fused kernel may run. */
  forward(x: Tensor, past?: { k: Tensor; v: Tensor } | null, start = 0, wantKV = true): AttentionStep {
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.config.nHead;
    const d = this.headDim;
    if (this.fusable(past, start, wantKV)) {
      return tf.tidy(() => {
        const y = fusedCausalAttention(this.c_attn.forward(x), H, 1 / Math.sqrt(d));
        return { out: this.residDropout.forward(this.c_proj.forward(y)) } as unknown as tf.TensorContainer;
      }) as unknown as AttentionStep;
    }
    return tf.tidy(() => {
      const { q, k, v } = headsWithPast(this.c_attn.forward(x), H, d, this.config, past, start);
      const S = k.shape[2]!;
      let scores = tf.mul(mmT(q, k), 1 / Math.sqrt(d));
      if (T > 1 || S > start + 1) scores = tf.add(scores, causalMask(T, S, start));
      const w = this.attnDropout.forward(tf.softmax(scores));
      const y = tf.reshape(tf.transpose(mm(w, v), [0, 2, 1, 3]), [B, T, C]);
      const out = this.residDropout.forward(this.c_proj.forward(y));
      return { out, k, v } as unknown as tf.TensorContainer;
    }) as unknown as AttentionStep;
  }
}

/** The MLP activation by name: the backend's fused kernel where it has one, else composed tfjs ops. */
export function activate(h: Tensor, a: GptActivation): Tensor {
  if ((FUSED_ACTIVATIONS as readonly string[]).includes(a) && hasFusedKernel(FUSED_KERNELS.activation)) return fusedActivation(h, a as FusedActivation);
  return a === 'gelu_new' ? geluNew(h) : a === 'gelu' ? gelu(h) : a === 'relu' ? tf.relu(h) : tf.mul(h, tf.sigmoid(h));
}

/** GPT-2's MLP: c_fc → activation (gelu_new) → c_proj → dropout. */
export class Mlp extends Module {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly dropout: Dropout;
  constructor(readonly config: GptConfig, rng: Rng) {
    super();
    const { nEmbd, nInner, bias, initializerRange, nLayer } = config;
    this.c_fc = this.registerModule('c_fc', new Conv1D(nEmbd, nInner, { bias, std: initializerRange, rng }));
    this.c_proj = this.registerModule('c_proj', new Conv1D(nInner, nEmbd, { bias, std: initializerRange / Math.sqrt(2 * nLayer), rng }));
    this.dropout = this.registerModule('dropout', new Dropout(config.dropout, { seed: rng.fork('mlp_dropout') }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const h = this.c_fc.forward(x);
      return this.dropout.forward(this.c_proj.forward(activate(h, this.config.activation)));
    });
  }
}

/** One transformer block: pre-LN (GPT-2: x + attn(ln_1(x)), x + mlp(ln_2(x))) or post-LN. */
export class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: Mlp;
  constructor(readonly config: GptConfig, rng: Rng) {
    super();
    const ln = () => new LayerNorm(config.nEmbd, { eps: config.layerNormEps, bias: config.bias });
    this.ln_1 = this.registerModule('ln_1', ln());
    this.attn = this.registerModule('attn', new CausalSelfAttention(config, rng));
    this.ln_2 = this.registerModule('ln_2', ln());
    this.mlp = this.registerModule('mlp', new Mlp(config, rng));
  }
  forward(x: Tensor, past?: { k: Tensor; v: Tensor } | null, start = 0, wantKV = true): AttentionStep {
    return tf.tidy(() => {
      if (this.config.preLN) {
        const a = this.attn.forward(this.ln_1.forward(x), past, start, wantKV);
        const h = tf.add(x, a.out);
        return { out: tf.add(h, this.mlp.forward(this.ln_2.forward(h))), k: a.k, v: a.v } as unknown as tf.TensorContainer;
      }
      const a = this.attn.forward(x, past, start, wantKV);
      const h = this.ln_1.forward(tf.add(x, a.out));
      return { out: this.ln_2.forward(tf.add(h, this.mlp.forward(h))), k: a.k, v: a.v } as unknown as tf.TensorContainer;
    }) as unknown as AttentionStep;
  }
}
