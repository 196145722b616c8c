import { InvalidArgumentError, Rng, rngFor, tf, type Tensor } from '@nutshell/core';
import type { Seed } from '../init.js';
import { Module } from '../module.js';

/**
 * Inverted dropout: in training, zeroes each element with probability p and scales the rest by
 * 1/(1−p); identity in eval mode. Masks come from (seed, call counter), and the counter is extra
 * state, so a resumed run draws the same masks as an uninterrupted one.
 */
export class Dropout extends Module {
  private readonly seed: string;
  private calls = 0;
  constructor(readonly p = 0.5, options: { seed?: Seed } = {}) {
    super();
    if (!(p >= 0 && p < 1)) throw new InvalidArgumentError(`Dropout: p must be in [0, 1), got ${p}`);
    const s = options.seed;
    this.seed = s instanceof Rng || s === undefined ? String(rngFor(s).nextUint32()) : String(s);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return tf.clone(x);
    const seed = new Rng(`${this.seed}/dropout/${this.calls++}`).tfSeed();
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), this.p), x.dtype);
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.p)));
    });
  }
  override getExtraState(): unknown {
    return { calls: this.calls };
  }
  override setExtraState(state: unknown): void {
    const c = (state as { calls?: unknown })?.calls;
    if (typeof c === 'number') this.calls = c;
  }
}
