import { InvalidArgumentError, Rng, ShapeError, tf, type Tensor } from '@nutshell/core';

/**
 * A pool of past fakes for the discriminator (Shrivastava et al. 2017; CycleGAN's image pool):
 * while filling, every fake is stored and returned; once full, each fake is, with probability
 * `probability`, swapped for a random stored one (which it replaces), else returned as is. Stored
 * as plain arrays, so the buffer holds no tensors.
 */
export class ReplayBuffer {
  private items: Float32Array[] = [];
  private shape: number[] | undefined;
  private calls = 0;
  constructor(readonly capacity = 50, readonly probability = 0.5, readonly seed: number | string = 0) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new InvalidArgumentError(`ReplayBuffer: capacity must be a non-negative integer, got ${capacity}`);
    if (!(probability >= 0 && probability <= 1)) throw new InvalidArgumentError(`ReplayBuffer: probability must be in [0, 1], got ${probability}`);
  }
  get size(): number {
    return this.items.length;
  }
  /** Returns a new batch (caller owns it) mixing `fakes` with stored ones. */
  query(fakes: Tensor): Tensor {
    if (this.capacity === 0) return tf.clone(fakes);
    const shape = fakes.shape.slice(1);
    if (this.shape && (shape.length !== this.shape.length || shape.some((d, i) => d !== this.shape![i]))) {
      throw new ShapeError(`ReplayBuffer: samples of shape [${shape.join(', ')}] do not match stored [${this.shape.join(', ')}]`);
    }
    this.shape = shape;
    // A fresh stream per call keeps the buffer resumable from (calls, items) alone.
    const rng = new Rng(`${String(this.seed)}/replay/${this.calls++}`);
    const n = fakes.shape[0]!;
    const per = fakes.size / n;
    const data = fakes.dataSync() as Float32Array;
    const out = new Float32Array(fakes.size);
    for (let i = 0; i < n; i++) {
      const sample = data.slice(i * per, (i + 1) * per);
      if (this.items.length < this.capacity) {
        this.items.push(sample);
        out.set(sample, i * per);
      } else if (rng.uniform() < this.probability) {
        const k = rng.int(this.capacity);
        out.set(this.items[k]!, i * per);
        this.items[k] = sample;
      } else {
        out.set(sample, i * per);
      }
    }
    return tf.tensor(out, fakes.shape);
  }

  /** JSON-ready contents, for checkpoints. */
  getState(): { calls: number; shape: number[] | undefined; items: number[][] } {
    return { calls: this.calls, shape: this.shape, items: this.items.map((a) => Array.from(a)) };
  }

  setState(s: { calls: number; shape: number[] | undefined; items: number[][] }): void {
    this.calls = s.calls;
    this.shape = s.shape;
    this.items = s.items.map((a) => Float32Array.from(a));
  }
}
