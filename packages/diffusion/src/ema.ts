import { InvalidArgumentError, ShapeError, tf, type Tensor, type Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';

/**
 * Exponential moving average of a module's parameters (θ_ema ← d·θ_ema + (1 − d)·θ), with an
 * optional warm-up d_k = min(decay, (1 + k)/(10 + k)) as in diffusers' EMAModel. Sample with
 * `ema.withAveraged(model, fn)` or copy the averages in with `copyTo`.
 */
export class EMA {
  readonly decay: number;
  readonly warmup: boolean;
  private readonly shadow = new Map<string, Variable>();
  updates = 0;

  constructor(readonly model: Module, options: { decay?: number; warmup?: boolean } = {}) {
    this.decay = options.decay ?? 0.999;
    this.warmup = options.warmup ?? true;
    if (!(this.decay >= 0 && this.decay < 1)) throw new InvalidArgumentError(`EMA: decay must be in [0, 1), got ${this.decay}`);
    for (const [name, p] of model.namedParameters()) this.shadow.set(name, tf.variable(tf.clone(p), false));
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return this.warmup ? Math.min(this.decay, (1 + this.updates) / (10 + this.updates)) : this.decay;
  }

  update(): void {
    const d = this.currentDecay();
    tf.tidy(() => {
      for (const [name, p] of this.model.namedParameters()) {
        const s = this.shadow.get(name);
        if (s) s.assign(tf.add(tf.mul(s, d), tf.mul(p, 1 - d)));
      }
    });
    this.updates++;
  }

  /** The averaged weights by parameter path (live variables; do not dispose). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.shadow);
  }

  /**
   * Restores averages saved with `stateDict` (and the update count, which drives the warm-up) so a
   * resumed run continues the same average. Every shadow entry must be present with its shape.
   */
  loadStateDict(dict: Record<string, Tensor>, updates: number): void {
    if (!Number.isInteger(updates) || updates < 0) throw new InvalidArgumentError(`EMA.loadStateDict: updates must be a non-negative integer, got ${updates}`);
    for (const [name, s] of this.shadow) {
      const t = dict[name];
      if (!t) throw new InvalidArgumentError(`EMA.loadStateDict: missing '${name}'`);
      if (t.shape.join() !== s.shape.join()) throw new ShapeError(`EMA.loadStateDict: '${name}' has shape [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
    }
    tf.tidy(() => {
      for (const [name, s] of this.shadow) s.assign(tf.cast(dict[name]!, s.dtype));
    });
    this.updates = updates;
  }

  copyTo(target: Module = this.model): void {
    target.loadStateDict(Object.fromEntries(this.shadow), { strict: false });
  }

  /** Runs fn with the averaged weights swapped into the model, restoring the trained ones after. */
  async withAveraged<R>(fn: () => R | Promise<R>): Promise<R> {
    const backup = this.model.stateDict({ clone: true, trainableOnly: false });
    this.copyTo(this.model);
    try {
      return await fn();
    } finally {
      this.model.loadStateDict(backup, { strict: false });
      for (const t of Object.values(backup)) t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.shadow.values()) v.dispose();
    this.shadow.clear();
  }
}
