import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, Module, ModuleList } from '@nutshell/nn';
import { T5Attention, type T5AttentionStep } from './attention.js';
import type { T5Config } from './config.js';
import { T5DenseActDense } from './feed-forward.js';
import { T5LayerNorm } from './layer-norm.js';

/** HF T5LayerSelfAttention: x + dropout(SelfAttention(layer_norm(x))). */
export class T5LayerSelfAttention extends Module {
  readonly SelfAttention: T5Attention;
  readonly layer_norm: T5LayerNorm;
  readonly dropout: Dropout;
  constructor(config: T5Config, isDecoder: boolean, hasRelativeAttentionBias: boolean, rng: Rng) {
    super();
    this.SelfAttention = this.registerModule('SelfAttention', new T5Attention(config, isDecoder, hasRelativeAttentionBias, rng.fork('SelfAttention')));
    this.layer_norm = this.registerModule('layer_norm', new T5LayerNorm(config.dModel, config.layerNormEpsilon));
    this.dropout = this.registerModule('dropout', new Dropout(config.dropoutRate, { seed: rng.fork('dropout') }));
  }
  forward(x: Tensor, bias: Tensor, past?: { k: Tensor; v: Tensor } | null): T5AttentionStep {
    return tf.tidy(() => {
      const a = this.SelfAttention.forward(this.layer_norm.forward(x), { bias, past });
      return { out: tf.add(x, this.dropout.forward(a.out)), k: a.k, v: a.v } as unknown as tf.TensorContainer;
    }) as unknown as T5AttentionStep;
  }
}

/** HF T5LayerCrossAttention: x + dropout(EncDecAttention(layer_norm(x), encoder states)). */
export class T5LayerCrossAttention extends Module {
  readonly EncDecAttention: T5Attention;
  readonly layer_norm: T5LayerNorm;
  readonly dropout: Dropout;
  constructor(config: T5Config, rng: Rng) {
    super();
    this.EncDecAttention = this.registerModule('EncDecAttention', new T5Attention(config, true, false, rng.fork('EncDecAttention')));
    this.layer_norm = this.registerModule('layer_norm', new T5LayerNorm(config.dModel, config.layerNormEpsilon));
    this.dropout = this.registerModule('dropout', new Dropout(config.dropoutRate, { seed: rng.fork('dropout') }));
  }
  forward(x: Tensor, encoderStates: Tensor, bias: Tensor, cached?: { k: Tensor; v: Tensor } | null): T5AttentionStep {
    return tf.tidy(() => {
      const a = this.EncDecAttention.forward(this.layer_norm.forward(x), { keyValueStates: encoderStates, bias, cached });
      return { out: tf.add(x, this.dropout.forward(a.out)), k: a.k, v: a.v } as unknown as tf.TensorContainer;
    }) as unknown as T5AttentionStep;
  }
}

/** HF T5LayerFF: x + dropout(DenseReluDense(layer_norm(x))). */
export class T5LayerFF extends Module {
  readonly DenseReluDense: T5DenseActDense;
  readonly layer_norm: T5LayerNorm;
  readonly dropout: Dropout;
  constructor(config: T5Config, rng: Rng) {
    super();
    this.DenseReluDense = this.registerModule('DenseReluDense', new T5DenseActDense(config, rng.fork('DenseReluDense')));
    this.layer_norm = this.registerModule('layer_norm', new T5LayerNorm(config.dModel, config.layerNormEpsilon));
    this.dropout = this.registerModule('dropout', new Dropout(config.dropoutRate, { seed: rng.fork('dropout') }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, this.dropout.forward(this.DenseReluDense.forward(this.layer_norm.forward(x)))));
  }
}

export interface T5BlockStep {
  out: Tensor;
  selfK: Tensor;
  selfV: Tensor;
  crossK?: Tensor;
  crossV?: Tensor;
}

export interface T5BlockInputs {
  selfBias: Tensor;
  past?: { k: Tensor; v: Tensor } | null;
  encoderStates?: Tensor;
  crossBias?: Tensor;
  crossCached?: { k: Tensor; v: Tensor } | null;
}

/** HF T5Block: `layer` = [self-attention, (cross-attention,) feed-forward]. */
export class T5Block extends Module {
  readonly layer: ModuleList;
  constructor(readonly config: T5Config, readonly isDecoder: boolean, hasRelativeAttentionBias: boolean, rng: Rng) {
    super();
    const layers: Module[] = [new T5LayerSelfAttention(config, isDecoder, hasRelativeAttentionBias, rng.fork('layer.0'))];
    if (isDecoder) layers.push(new T5LayerCrossAttention(config, rng.fork('layer.1')));
    layers.push(new T5LayerFF(config, rng.fork(`layer.${layers.length}`)));
    this.layer = this.registerModule('layer', new ModuleList(layers));
  }
  get selfAttention(): T5LayerSelfAttention {
    return this.layer.at(0) as T5LayerSelfAttention;
  }
  forward(x: Tensor, inputs: T5BlockInputs): T5BlockStep {
    const layers = [...this.layer];
    return tf.tidy(() => {
      const s = (layers[0] as T5LayerSelfAttention).forward(x, inputs.selfBias, inputs.past);
      let h = s.out;
      const step: Record<string, Tensor> = { selfK: s.k, selfV: s.v };
      if (this.isDecoder) {
        const c = (layers[1] as T5LayerCrossAttention).forward(h, inputs.encoderStates!, inputs.crossBias!, inputs.crossCached);
        h = c.out;
        step.crossK = c.k;
        step.crossV = c.v;
      }
      step.out = (layers[layers.length - 1] as T5LayerFF).forward(h);
      return step as unknown as tf.TensorContainer;
    }) as unknown as T5BlockStep;
  }
}
