import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { Embedding, Module, type Seed } from '@nutshell/nn';
import { DCGANDiscriminator, DCGANGenerator, type DCGANDiscriminatorOptions, type DCGANGeneratorOptions } from './dcgan.js';

function checkLabels(what: string, y: Tensor, n: number, classes: number): void {
  if (y.rank !== 1 || y.shape[0] !== n || y.dtype !== 'int32') throw new ShapeError(`${what}: labels must be int32 [${n}], got ${y.dtype} [${y.shape.join(', ')}]`);
  const bad = (y.dataSync() as Int32Array).find((v) => v < 0 || v >= classes);
  if (bad !== undefined) throw new InvalidArgumentError(`${what}: label ${bad} is outside 0..${classes - 1}`);
}

/**
 * Conditional generator (Mirza & Osindero 2014): a learned label embedding is concatenated to z
 * and fed to a DCGAN generator. forward(z, labels) with int32 labels [N].
 */
export class ConditionalGenerator extends Module {
  readonly embed: Embedding;
  readonly body: DCGANGenerator;
  readonly latentDim: number;
  constructor(readonly numClasses: number, readonly config: DCGANGeneratorOptions & { embedDim?: number } = {}) {
    super();
    assertPositiveInt('ConditionalGenerator numClasses', numClasses);
    const rng = rngFor(config.seed);
    const e = config.embedDim ?? 16;
    this.latentDim = config.latentDim ?? 64;
    this.embed = this.registerModule('embed', new Embedding(numClasses, e, { seed: rng }));
    this.body = this.registerModule('body', new DCGANGenerator({ ...config, latentDim: this.latentDim + e, seed: rng }));
  }
  forward(z: Tensor, labels: Tensor): Tensor {
    checkLabels('ConditionalGenerator', labels, z.shape[0]!, this.numClasses);
    return tf.tidy(() => this.body.forward(tf.concat([z, this.embed.forward(labels)], 1)));
  }
}

/**
 * Projection discriminator (Miyato & Koyama 2018): D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩, with φ
 * the DCGAN feature extractor and ψ its linear head. (The embedding is not spectrally normalised here.)
 */
export class ProjectionDiscriminator extends Module {
  readonly body: DCGANDiscriminator;
  readonly embedding: Embedding;
  constructor(readonly numClasses: number, readonly config: DCGANDiscriminatorOptions = {}) {
    super();
    assertPositiveInt('ProjectionDiscriminator numClasses', numClasses);
    const rng = rngFor(config.seed);
    this.body = this.registerModule('body', new DCGANDiscriminator({ ...config, seed: rng }));
    this.embedding = this.registerModule('embed', new Embedding(numClasses, this.body.featureDim, { seed: rng }));
    // Small init so the projection term starts near zero.
    tf.tidy(() => this.embedding.weight.assign(tf.mul(this.embedding.weight, 0.05)));
  }
  /** The projection term ⟨embed(y), φ⟩ for given features. */
  projection(features: Tensor, labels: Tensor): Tensor {
    return tf.tidy(() => tf.sum(tf.mul(this.embedding.forward(labels), features), 1, true));
  }
  forward(x: Tensor, labels: Tensor): Tensor {
    checkLabels('ProjectionDiscriminator', labels, x.shape[0]!, this.numClasses);
    return tf.tidy(() => {
      const f = this.body.features(x);
      return tf.add(this.body.head.forward(f), this.projection(f, labels));
    });
  }
}
