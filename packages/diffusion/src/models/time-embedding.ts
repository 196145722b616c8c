import { assertPositiveInt, InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Linear, Module, SiLU, type Seed } from '@nutshell/nn';

/**
 * Transformer-style sinusoidal embedding of (possibly fractional) timesteps, as in DDPM:
 * [sin(t·ω_k), cos(t·ω_k)] with ω_k = maxPeriod^(−k/half). t: [B] → [B, dim].
 */
export function sinusoidalEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  assertPositiveInt('sinusoidalEmbedding dim', dim);
  if (dim % 2) throw new InvalidArgumentError(`sinusoidalEmbedding: dim must be even, got ${dim}`);
  const half = dim / 2;
  const freqs = Float32Array.from({ length: half }, (_, k) => Math.exp((-Math.log(maxPeriod) * k) / half));
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    return tf.concat([tf.sin(args), tf.cos(args)], 1);
  });
}

/** Sinusoidal features followed by Linear → SiLU → Linear (DDPM's time MLP). */
export class TimeEmbedding extends Module {
  readonly linear1: Linear;
  readonly linear2: Linear;
  private readonly act = new SiLU();
  constructor(readonly freqDim: number, readonly dim: number, seed?: Seed) {
    super();
    this.linear1 = this.registerModule('linear_1', new Linear(freqDim, dim, { seed }));
    this.linear2 = this.registerModule('linear_2', new Linear(dim, dim, { seed: typeof seed === 'number' ? seed + 1 : seed }));
  }
  forward(t: Tensor): Tensor {
    return tf.tidy(() => this.linear2.forward(this.act.forward(this.linear1.forward(sinusoidalEmbedding(t, this.freqDim)))));
  }
}
