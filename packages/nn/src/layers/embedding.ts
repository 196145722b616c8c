import { DTypeError, InvalidArgumentError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { normal, type Seed } from '../init.js';
import { Module, type Parameter } from '../module.js';

/**
 * torch.nn.Embedding: `weight` [num, dim] initialised N(0, 1). Rows at `paddingIdx` start at zero
 * and get no gradient.
 */
export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, readonly options: { paddingIdx?: number; seed?: Seed } = {}) {
    super();
    assertPositiveInt('Embedding numEmbeddings', numEmbeddings);
    assertPositiveInt('Embedding embeddingDim', embeddingDim);
    const p = options.paddingIdx;
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p >= numEmbeddings)) {
      throw new InvalidArgumentError(`Embedding paddingIdx: expected an integer in [0, ${numEmbeddings}), got ${p}`);
    }
    let w = normal([numEmbeddings, embeddingDim], 0, 1, rngFor(options.seed));
    if (p !== undefined) {
      const mask = tf.reshape(tf.oneHot([p], numEmbeddings), [numEmbeddings, 1]);
      const masked = tf.mul(w, tf.sub(1, mask));
      w.dispose();
      mask.dispose();
      w = masked;
    }
    this.weight = this.registerParameter('weight', w);
  }

  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int32') throw new DTypeError(`Embedding: expected int32 indices, got ${indices.dtype}`);
    return tf.tidy(() => {
      const flat = tf.reshape(indices, [-1]);
      let y = tf.gather(this.weight, flat);
      const p = this.options.paddingIdx;
      if (p !== undefined) y = tf.mul(y, tf.expandDims(tf.cast(tf.notEqual(flat, p), 'float32'), 1));
      return tf.reshape(y, [...indices.shape, this.embeddingDim]);
    });
  }
}
