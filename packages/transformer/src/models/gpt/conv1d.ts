import { Rng, tf, type Tensor } from '@nutshell/core';
import { Module, init, type Parameter } from '@nutshell/nn';
import { mm } from './ops.js';

/**
 * Hugging Face's GPT-2 `Conv1D`: a linear layer whose weight is stored [in, out] (the transpose of
 * torch.nn.Linear), so y = x·W + b. Keeping HF's layout lets GPT-2 checkpoints load unchanged.
 */
export class Conv1D extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** Weight is [in, out]: LoRA/PEFT adapt it with `fan_in_fan_out: true`. */
  readonly fanInFanOut = true;
  constructor(readonly nIn: number, readonly nOut: number, options: { bias?: boolean; std?: number; rng: Rng }) {
    super();
    this.weight = this.registerParameter('weight', init.normal([nIn, nOut], 0, options.std ?? 0.02, options.rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', tf.zeros([nOut]));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.nIn]);
      let y = mm(flat, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.nOut]);
    });
  }
}
