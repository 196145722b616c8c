import { Rng, tf, type Tensor } from '@nutshell/core';
import { Embedding, init } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { columnNorm, doraMix } from './dora.js';
import { LoraLayer, LoraPair } from './lora-layer.js';

/**
 * LoRA on an Embedding (PEFT's lora.Embedding): lora_embedding_A [r, num], lora_embedding_B
 * [dim, r]; a lookup of row i adds s·B·A[:, i]. PEFT initialises A = 0 and B ~ N(0, 1) (the
 * transpose of the Linear convention); ΔW = s·(BA)ᵀ [num, dim]. No dropout on indices. DoRA as
 * PEFT's DoraEmbeddingLayer (fan_in_fan_out): a magnitude [dim] over the norm of each column of W.
 */
export class LoraEmbedding extends LoraLayer {
  declare readonly baseLayer: Embedding;

  constructor(base: Embedding) {
    super(base, new LoraPair('parameter', ['lora_embedding_A', 'lora_embedding_B']));
  }

  get kind(): 'embedding' {
    return 'embedding';
  }

  protected initPair(config: LoraConfig, seed: string): { A: Tensor; B: Tensor } {
    const { numEmbeddings, embeddingDim } = this.baseLayer;
    const rng = new Rng(seed);
    const random = config.init_lora_weights === false;
    const A = random ? init.normal([config.r, numEmbeddings], 0, 1, rng) : tf.zeros([config.r, numEmbeddings]);
    return { A, B: init.normal([embeddingDim, config.r], 0, 1, rng) };
  }

  protected weightNorm(w: Tensor): Tensor {
    return columnNorm(w);
  }

  protected get weightFactorShape(): number[] {
    return [1, this.baseLayer.embeddingDim];
  }

  protected get outputFactorShape(): number[] {
    return [this.baseLayer.embeddingDim];
  }

  deltaWeight(name: string): Tensor {
    const { A, B } = this.tensorsOf(name);
    const s = this.scaling(name);
    return tf.tidy(() => tf.mul(tf.transpose(tf.matMul(B, A)), s));
  }

  readWeight(): Tensor {
    return tf.clone(this.baseLayer.weight);
  }

  writeWeight(w: Tensor): void {
    this.baseLayer.weight.assign(w);
  }

  protected adapterOutput(name: string, x: Tensor): Tensor {
    const { A, B } = this.tensorsOf(name);
    const flat = tf.reshape(x, [-1]);
    const h = tf.gather(tf.transpose(A), flat); // [n, r]
    let y = tf.mul(tf.matMul(h, B, false, true), this.scaling(name));
    const k = this.doraScale(name);
    // PEFT's DoraEmbeddingLayer: y = k ⊙ (W0[x] + lora), k per embedding dimension.
    if (k) y = doraMix(tf.gather(this.baseLayer.weight, flat), y, k);
    return tf.reshape(y, [...x.shape, this.baseLayer.embeddingDim]);
  }
}
