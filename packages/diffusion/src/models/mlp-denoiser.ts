import { assertPositiveInt, rngFor, ShapeError, tf, type Tensor } from '@nutshell/core';
import { Embedding, Linear, Module, ModuleList, SiLU, type Seed } from '@nutshell/nn';
import type { Conditioning, Denoiser } from './denoiser.js';
import { TimeEmbedding } from './time-embedding.js';

export interface MLPDenoiserOptions {
  /** Data dimension (2 for the toy sets). */
  dim?: number;
  hidden?: number;
  /** Residual blocks (each: SiLU → Linear → +time → SiLU → Linear). */
  blocks?: number;
  /** Number of classes for class conditioning (an extra null class is added for guidance). */
  numClasses?: number;
  /** Also output variance values v (2·dim outputs: [prediction, v]) for learned variance (varianceType 'learned_range'). */
  learnVariance?: boolean;
  seed?: Seed;
}

/** A residual MLP denoiser for low-dimensional data (2-D toy mixtures), with time and class embeddings. */
export class MLPDenoiser extends Module implements Denoiser {
  readonly dim: number;
  readonly hidden: number;
  readonly numClasses: number | undefined;
  readonly timeEmbed: TimeEmbedding;
  readonly classEmbed: Embedding | null;
  readonly inProj: Linear;
  readonly blocks: ModuleList;
  readonly outProj: Linear;
  private readonly act = new SiLU();

  constructor(readonly options: MLPDenoiserOptions = {}) {
    super();
    this.dim = options.dim ?? 2;
    this.hidden = options.hidden ?? 128;
    assertPositiveInt('MLPDenoiser dim', this.dim);
    assertPositiveInt('MLPDenoiser hidden', this.hidden);
    const nBlocks = options.blocks ?? 3;
    const rng = rngFor(options.seed ?? 0);
    this.numClasses = options.numClasses;
    this.timeEmbed = this.registerModule('time_embed', new TimeEmbedding(64, this.hidden, rng));
    this.classEmbed = options.numClasses ? this.registerModule('class_embed', new Embedding(options.numClasses + 1, this.hidden, { seed: rng })) : null;
    this.inProj = this.registerModule('in_proj', new Linear(this.dim, this.hidden, { seed: rng }));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: nBlocks }, () => new MLPBlock(this.hidden, rng))));
    this.outProj = this.registerModule('out_proj', new Linear(this.hidden, options.learnVariance ? 2 * this.dim : this.dim, { seed: rng }));
  }

  forward(x: Tensor, t: Tensor, cond: Conditioning = {}): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new ShapeError(`MLPDenoiser: expected x [batch, ${this.dim}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      let emb = this.timeEmbed.forward(t.shape[0] === 1 && x.shape[0] !== 1 ? tf.tile(t, [x.shape[0]!]) : t);
      if (this.classEmbed) {
        const labels = cond.classLabels ? tf.cast(cond.classLabels, 'int32') : tf.fill([x.shape[0]!], this.numClasses!, 'int32');
        emb = tf.add(emb, this.classEmbed.forward(labels));
      }
      let h = this.inProj.forward(x);
      for (const b of this.blocks) h = (b as MLPBlock).forward(h, emb);
      return this.outProj.forward(this.act.forward(h));
    });
  }
}

class MLPBlock extends Module {
  readonly fc1: Linear;
  readonly temb: Linear;
  readonly fc2: Linear;
  private readonly act = new SiLU();
  constructor(hidden: number, seed: Seed) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(hidden, hidden, { seed }));
    this.temb = this.registerModule('temb', new Linear(hidden, hidden, { seed }));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, hidden, { seed }));
  }
  forward(h: Tensor, emb: Tensor): Tensor {
    return tf.tidy(() => {
      const a = tf.add(this.fc1.forward(this.act.forward(h)), this.temb.forward(this.act.forward(emb)));
      return tf.add(h, this.fc2.forward(this.act.forward(a)));
    });
  }
}
