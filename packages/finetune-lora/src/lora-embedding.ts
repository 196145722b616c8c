import { InvalidArgumentError, Rng, tf, type Tensor, type Variable } from '@nutshell/core';
import { Embedding, init } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { ParamDict } from './containers.js';
import { LoraLayer, type AdapterTensors } from './lora-layer.js';

/**
 * LoRA on an Embedding (PEFT's lora.Embedding): lora_embedding_A [r, num], lora_embedding_B
 * [dim, r]; a lookup of row i adds s·B·A[:, i]. PEFT initialises A = 0 and B ~ N(0, 1) (the
 * transpose of the Linear convention); ΔW = s·(BA)ᵀ [num, dim]. No dropout on indices.
 */
export class LoraEmbedding extends LoraLayer {
  private embA = new ParamDict();
  private embB = new ParamDict();
  declare readonly baseLayer: Embedding;

  constructor(base: Embedding) {
    super(base);
    this.registerModule('lora_embedding_A', this.embA);
    this.registerModule('lora_embedding_B', this.embB);
  }

  get kind(): 'embedding' {
    return 'embedding';
  }

  protected createTensors(name: string, config: LoraConfig, seed: string): void {
    const { numEmbeddings, embeddingDim } = this.baseLayer;
    const rng = new Rng(seed);
    const random = config.init_lora_weights === false;
    this.embA.create(name, random ? init.normal([config.r, numEmbeddings], 0, 1, rng) : tf.zeros([config.r, numEmbeddings]));
    this.embB.create(name, init.normal([embeddingDim, config.r], 0, 1, rng));
  }

  tensorsOf(name: string): { A: Variable; B: Variable } {
    const A = this.embA.get(name);
    const B = this.embB.get(name);
    if (!A || !B) throw new InvalidArgumentError(`LoraEmbedding: no adapter '${name}'`);
    return { A, B };
  }

  adapterTensors(name: string): AdapterTensors {
    const { A, B } = this.tensorsOf(name);
    return [['lora_embedding_A', A], ['lora_embedding_B', B]];
  }

  protected dropTensors(name: string): void {
    const { A, B } = this.tensorsOf(name);
    tf.dispose([A, B]);
    this.embA = this.embA.without(name);
    this.embB = this.embB.without(name);
    this.setModule('lora_embedding_A', this.embA);
    this.setModule('lora_embedding_B', this.embB);
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
    const y = tf.mul(tf.matMul(h, B, false, true), this.scaling(name));
    return tf.reshape(y, [...x.shape, this.baseLayer.embeddingDim]);
  }
}
