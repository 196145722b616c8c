import { InvalidArgumentError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { Module, init, type Parameter, type Seed } from '@nutshell/nn';

/**
 * GPT-2's `Conv1D` (transformers.pytorch_utils): a linear layer whose weight is stored [in, out],
 * y = x·W + b. Models with GPT-2 checkpoint names use it for c_attn, c_proj and c_fc; LoRA adapts
 * it with `fan_in_fan_out: true`, as PEFT does.
 */
export class Conv1D extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly fanInFanOut = true;
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { seed?: Seed; std?: number } = {}) {
    super();
    assertPositiveInt('Conv1D inFeatures', inFeatures);
    assertPositiveInt('Conv1D outFeatures', outFeatures);
    const rng = rngFor(options.seed);
    // transformers initialises Conv1D with N(0, 0.02) and zero bias.
    this.weight = this.registerParameter('weight', init.normal([inFeatures, outFeatures], 0, options.std ?? 0.02, rng));
    this.bias = this.registerParameter('bias', tf.zeros([outFeatures]));
  }
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) throw new InvalidArgumentError(`Conv1D: expected input [..., ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const flat = tf.reshape(x, [-1, this.inFeatures]);
      const y = tf.add(tf.matMul(flat, this.weight), this.bias);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}
