import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, Module, ModuleList } from '@nutshell/nn';
import { T5Block } from './block.js';
import type { T5Config } from './config.js';
import { T5LayerNorm } from './layer-norm.js';

/** Large negative additive mask (HF uses finfo.min; both underflow to exactly 0 after softmax). */
export const MASK_VALUE = -1e9;

/** Additive mask [B, 1, 1, S] from a 0/1 attention mask [B, S]: 0 where attended, MASK_VALUE where padded. */
export function extendedMask(mask: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, S] = mask.shape as [number, number];
    return tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASK_VALUE), [B, 1, 1, S]);
  });
}

/** Causal additive mask [T, S] for queries at absolute positions start… over keys 0…S−1. */
export function causalMask(T: number, S: number, start: number): Tensor {
  const m = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = start + i + 1; j < S; j++) m[i * S + j] = MASK_VALUE;
  return tf.tensor2d(m, [T, S]);
}

/**
 * HF T5Stack without its (tied) embed_tokens: `block.N` then `final_layer_norm` and dropout. The
 * model embeds with `shared` and passes the embeddings in; block 0's relative_attention_bias
 * serves every block, as in HF.
 */
export class T5Stack extends Module {
  readonly block: ModuleList;
  readonly final_layer_norm: T5LayerNorm;
  readonly dropout: Dropout;
  constructor(readonly config: T5Config, readonly isDecoder: boolean, rng: Rng) {
    super();
    const n = isDecoder ? config.numDecoderLayers : config.numLayers;
    this.block = this.registerModule('block', new ModuleList(Array.from({ length: n }, (_, i) => new T5Block(config, isDecoder, i === 0, rng.fork(`block.${i}`)))));
    this.final_layer_norm = this.registerModule('final_layer_norm', new T5LayerNorm(config.dModel, config.layerNormEpsilon));
    this.dropout = this.registerModule('dropout', new Dropout(config.dropoutRate, { seed: rng.fork('dropout') }));
  }
  get blocks(): T5Block[] {
    return [...this.block] as T5Block[];
  }
  /** Block 0's `relative_attention_bias.weight` [numBuckets, H]. */
  get relativeAttentionBias(): Tensor {
    return this.blocks[0]!.selfAttention.SelfAttention.relative_attention_bias!.weight;
  }
  forward(): never {
    throw new Error('T5Stack: call T5.encode / T5.decode');
  }
}
