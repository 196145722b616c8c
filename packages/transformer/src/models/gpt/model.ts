import { InvalidArgumentError, Rng, ShapeError, describe, rngFor, tf, type Tensor, type Tensor3D, type TokenScorer } from '@nutshell/core';
import { Dropout, Embedding, LayerNorm, Module, ModuleList, crossEntropy, init, type Parameter, type Seed } from '@nutshell/nn';
import { Block } from './block.js';
import { gptConfig, type GptConfig, type GptConfigInput } from './config.js';
import { KVCache } from './kv-cache.js';
import { canDecodeFused, fusedBlockDecode, fusedLayerNorm, fusedLinearT } from './fused-decode.js';
import { embed, mmT } from './ops.js';

/** GPT-2's trunk, named as Hugging Face's GPT2Model: wte, wpe, drop, h.N, ln_f. */
export class GptTrunk extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding | null;
  readonly drop: Dropout;
  readonly h: ModuleList;
  readonly ln_f: LayerNorm;
  constructor(readonly config: GptConfig, rng: Rng) {
    super();
    const std = config.initializerRange;
    this.wte = this.registerModule('wte', new Embedding(config.vocabSize, config.nEmbd, { seed: rng.fork('wte') }));
    reinit(this.wte.weight, init.normal([config.vocabSize, config.nEmbd], 0, std, rng.fork('wte/normal')));
    this.wpe = null;
    if (config.positionEmbedding === 'learned') {
      this.wpe = this.registerModule('wpe', new Embedding(config.nPositions, config.nEmbd, { seed: rng.fork('wpe') }));
      reinit(this.wpe.weight, init.normal([config.nPositions, config.nEmbd], 0, std, rng.fork('wpe/normal')));
    }
    this.drop = this.registerModule('drop', new Dropout(config.dropout, { seed: rng.fork('drop') }));
    this.h = this.registerModule('h', new ModuleList(Array.from({ length: config.nLayer }, (_, i) => new Block(config, rng.fork(`h.${i}`)))));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(config.nEmbd, { eps: config.layerNormEps, bias: config.bias }));
  }
  forward(): never {
    throw new InvalidArgumentError('GptTrunk: call GPT.forward');
  }
}

function reinit(p: Parameter, t: Tensor): void {
  p.assign(t);
  t.dispose();
}

/** Bias-free linear head [vocab, n_embd] (torch Linear layout); shares wte's variable when tied. */
class LmHead extends Module {
  readonly weight: Parameter;
  constructor(weight: Parameter | Tensor) {
    super();
    this.weight = this.registerParameter('weight', weight as Tensor);
  }
  static tied(weight: Parameter): LmHead {
    // registerParameter copies its init; swap the copy for the shared variable.
    const head = new LmHead(tf.zeros([1]));
    head.weight.dispose();
    (head as { weight: Parameter }).weight = weight;
    head.replaceParameter('weight', weight);
    return head;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const C = this.weight.shape[1]!;
      const y = mmT(tf.reshape(x, [-1, C]), this.weight);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.weight.shape[0]!]);
    });
  }
  // Lets the static factory swap in a shared variable.
  override replaceParameter(name: string, v: Parameter): void {
    super.replaceParameter(name, v);
  }
}

export interface GptForwardOptions {
  /** A KV cache: positions continue after the cached tokens, and the new keys/values are appended. */
  cache?: KVCache;
  /** Return logits of the last position only ([B, V] as [B, 1, V]); saves the head matmul on the prefix. */
  lastOnly?: boolean;
}

/**
 * A GPT decoder language model with Hugging Face GPT-2's parameter names
 * (`transformer.h.0.attn.c_attn.weight` in Conv1D [in, out] layout, `transformer.wte.weight`, tied
 * `lm_head.weight`), so GPT-2 safetensors load and save unchanged. Implements core's TokenScorer.
 */
export class GPT extends Module implements TokenScorer {
  readonly config: GptConfig;
  readonly transformer: GptTrunk;
  readonly lm_head: LmHead;
  constructor(config: GptConfigInput, options: { seed?: Seed } = {}) {
    super();
    this.config = gptConfig(config);
    const s = options.seed;
    const rng = s instanceof Rng ? s : new Rng(s === undefined ? rngFor().nextUint32() : s);
    this.transformer = this.registerModule('transformer', new GptTrunk(this.config, rng.fork('transformer')));
    const c = this.config;
    this.lm_head = this.registerModule(
      'lm_head',
      c.tieWeights ? LmHead.tied(this.transformer.wte.weight) : new LmHead(init.normal([c.vocabSize, c.nEmbd], 0, c.initializerRange, rng.fork('lm_head'))),
    );
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** Checks ids: an int32 [B, T] tensor or nested arrays; every id in [0, vocab). */
  private toIds(ids: Tensor | readonly (readonly number[])[]): Tensor {
    if (Array.isArray(ids)) {
      const rows = ids as readonly (readonly number[])[];
      const T = rows[0]?.length ?? 0;
      if (!rows.length || !T || rows.some((r) => !Array.isArray(r) || r.length !== T)) throw new ShapeError(`GPT: expected a non-empty [batch, time] array of equal-length rows, got ${describe(ids)}`);
      for (const r of rows) for (const id of r) this.checkId(id);
      return tf.tensor2d(rows.map((r) => [...r]), [rows.length, T], 'int32');
    }
    const t = ids as Tensor;
    if (t.rank !== 2) throw new ShapeError(`GPT: expected ids of shape [batch, time], got [${t.shape.join(', ')}]`);
    if (t.dtype !== 'int32') throw new InvalidArgumentError(`GPT: expected int32 ids, got ${t.dtype}`);
    return t;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) throw new InvalidArgumentError(`GPT: token id ${describe(id)} is outside the vocabulary [0, ${this.config.vocabSize})`);
  }

  /**
   * Logits [B, T, vocab] for ids [B, T] (an int32 tensor or arrays). With a cache, the ids are the
   * tokens after the cached ones and the cache grows by T.
   */
  forward(ids: Tensor | readonly (readonly number[])[], options: GptForwardOptions = {}): Tensor3D {
    const x = this.toIds(ids);
    const cache = options.cache;
    try {
      const [B, T] = x.shape as [number, number];
      const start = cache?.length ?? 0;
      if (cache && cache.length > 0 && cache.batchSize !== B) throw new ShapeError(`GPT: the KV cache holds ${cache.batchSize} sequences, got a batch of ${B}`);
      if (start + T > this.config.nPositions && this.config.positionEmbedding === 'learned') {
        throw new InvalidArgumentError(`GPT: ${start + T} positions exceed the context of ${this.config.nPositions} tokens (nPositions)`);
      }
      const tr = this.transformer;
      // KVCache subclasses (e.g. a span-bounded cache) override how steps are stored: composed path.
      if (cache && cache.constructor === KVCache && canDecodeFused(this.config, this.training, [...tr.h])) {
        return this.forwardFused(x, cache, start, !!options.lastOnly);
      }
      // The composed path keeps keys/values as [B, H, S, d] tensors.
      cache?.toTensors();
      const out = tf.tidy(() => {
        let h = embed(tr.wte.weight, x);
        if (tr.wpe) h = tf.add(h, embed(tr.wpe.weight, tf.range(start, start + T, 1, 'int32')));
        h = tr.drop.forward(h);
        const ks: Tensor[] = [];
        const vs: Tensor[] = [];
        [...tr.h].forEach((block, l) => {
          const past = cache && cache.keys[l] ? { k: cache.keys[l]!, v: cache.values[l]! } : null;
          const r = (block as Block).forward(h, past, start, !!cache);
          h = r.out;
          if (cache) {
            ks.push(r.k!);
            vs.push(r.v!);
          }
        });
        h = tr.ln_f.forward(h);
        if (options.lastOnly) h = tf.slice(h, [0, T - 1, 0], [B, 1, -1]);
        const logits = this.lm_head.forward(h);
        return (cache ? { logits, ks, vs } : { logits }) as unknown as tf.TensorContainer;
      }) as unknown as { logits: Tensor3D; ks?: Tensor[]; vs?: Tensor[] };
      if (cache) out.ks!.forEach((k, l) => cache.set(l, k, out.vs![l]!));
      return out.logits;
    } finally {
      if (x !== ids) x.dispose();
    }
  }

  /** The cached forward on the backend's fused kernels (fused-decode.ts): same values, ~7 kernels per block. */
  private forwardFused(x: Tensor, cache: KVCache, start: number, lastOnly: boolean): Tensor3D {
    const [B, T] = x.shape as [number, number];
    const c = this.config;
    const tr = this.transformer;
    cache.reserve(start + T, { batch: B, heads: c.nHead, headDim: c.nEmbd / c.nHead }, c.positionEmbedding === 'learned' ? c.nPositions : Infinity);
    const logits = tf.tidy(() => {
      // Dropout is inactive here (canDecodeFused), so drop and the dropouts in the blocks are skipped.
      let h: Tensor = tf.gather(tr.wte.weight, x);
      if (tr.wpe) h = tf.add(h, tf.slice(tr.wpe.weight, [start, 0], [T, -1]));
      [...tr.h].forEach((block, l) => {
        h = fusedBlockDecode(block as Block, h, cache, l, start);
      });
      if (lastOnly && T > 1) h = tf.slice(h, [0, T - 1, 0], [B, 1, -1]);
      h = fusedLayerNorm(tr.ln_f, h);
      return this.lm_head.constructor === LmHead ? fusedLinearT(h, this.lm_head.weight) : this.lm_head.forward(h);
    }) as Tensor3D;
    cache.advance(T);
    return logits;
  }

  /** A new, empty KV cache for this model. */
  createCache(): KVCache {
    return new KVCache(this.config.nLayer);
  }

  /** Mean next-token cross-entropy of ids [B, T] (predicting ids[:, 1:] from ids[:, :-1]) or of (x, y) pairs. */
  loss(x: Tensor, y: Tensor): Tensor {
    return tf.tidy(() => {
      const logits = this.forward(x);
      const V = this.config.vocabSize;
      return crossEntropy(tf.reshape(logits, [-1, V]), tf.reshape(y, [-1]));
    });
  }

  /**
   * TokenScorer: log p(token_i | tokens_<i) for i ≥ 1 of each sequence. Sequences longer than the
   * context are scored with a sliding window (half-context stride), each token once.
   */
  async scoreTokens(sequences: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const N = this.config.positionEmbedding === 'learned' ? this.config.nPositions : Math.max(this.config.nPositions, 1);
    const stride = Math.max(1, Math.floor(N / 2));
    const wasTraining = this.training;
    this.eval();
    try {
      for (const seq of sequences) {
        if (!Array.isArray(seq)) throw new InvalidArgumentError(`scoreTokens: each sequence must be an array of token ids, got ${describe(seq)}`);
        for (const id of seq) this.checkId(id);
        const n = seq.length;
        const res = new Float32Array(Math.max(0, n - 1));
        // Window [b, b+N) scores targets at positions max(b+1, done)..b+N−1.
        let done = 1;
        for (let b = 0; done < n; b = Math.min(b + stride, Math.max(0, n - N))) {
          const e = Math.min(n, b + N);
          const window = seq.slice(b, e);
          const lp = tf.tidy(() => tf.logSoftmax(tf.squeeze(this.forward([window]), [0])));
          const vals = (await lp.data()) as Float32Array;
          lp.dispose();
          const V = this.config.vocabSize;
          for (let i = Math.max(done, b + 1); i < e; i++) res[i - 1] = vals[(i - 1 - b) * V + seq[i]!]!;
          done = e;
          if (e === n) break;
        }
        out.push(res);
      }
    } finally {
      this.train(wasTraining);
    }
    return out;
  }
}

