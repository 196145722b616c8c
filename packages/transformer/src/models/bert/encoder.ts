import { Rng, tf, type Tensor } from '@nutshell/core';
import { Dropout, LayerNorm, Module, ModuleList } from '@nutshell/nn';
import { BertAttention } from './attention.js';
import type { BertConfig } from './config.js';
import { BertLinear, activate } from './layers.js';

/** HF BertIntermediate: dense (hidden → intermediate) → activation. */
export class BertIntermediate extends Module {
  readonly dense: BertLinear;
  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    this.dense = this.registerModule('dense', new BertLinear(config.hiddenSize, config.intermediateSize, config.initializerRange, rng.fork('dense')));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => activate(this.config.hiddenAct, this.dense.forward(x)));
  }
}

/** HF BertOutput: dense (intermediate → hidden) → dropout → LayerNorm(· + input). */
export class BertOutput extends Module {
  readonly dense: BertLinear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  constructor(config: BertConfig, rng: Rng) {
    super();
    this.dense = this.registerModule('dense', new BertLinear(config.intermediateSize, config.hiddenSize, config.initializerRange, rng.fork('dense')));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb, { seed: rng.fork('dropout') }));
  }
  forward(h: Tensor, input: Tensor): Tensor {
    return tf.tidy(() => this.LayerNorm.forward(tf.add(this.dropout.forward(this.dense.forward(h)), input)));
  }
}

/** HF BertLayer: attention, intermediate, output. */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;
  constructor(config: BertConfig, rng: Rng) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(config, rng.fork('attention')));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(config, rng.fork('intermediate')));
    this.output = this.registerModule('output', new BertOutput(config, rng.fork('output')));
  }
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    return tf.tidy(() => {
      const a = this.attention.forward(x, additiveMask);
      return this.output.forward(this.intermediate.forward(a), a);
    });
  }
}

/** HF BertEncoder: `layer.N`. */
export class BertEncoder extends Module {
  readonly layer: ModuleList;
  constructor(config: BertConfig, rng: Rng) {
    super();
    this.layer = this.registerModule('layer', new ModuleList(Array.from({ length: config.numHiddenLayers }, (_, i) => new BertLayer(config, rng.fork(`layer.${i}`)))));
  }
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    return tf.tidy(() => {
      let h = x;
      for (const l of this.layer) h = (l as BertLayer).forward(h, additiveMask);
      return h;
    });
  }
}
