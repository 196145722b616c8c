import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';

/**
 * Exponential moving average of a generator's weights (Karras et al.; Yazıcı et al. 2019):
 * shadow ← decay·shadow + (1 − decay)·param after each update; buffers (BatchNorm running stats)
 * are copied. `withAveraged(fn)` runs fn with the averaged weights swapped into the module.
 */
export class Ema {
  private readonly shadow = new Map<string, Variable>();
  updates = 0;
  constructor(readonly module: Module, readonly decay = 0.999) {
    if (!(decay >= 0 && decay < 1)) throw new InvalidArgumentError(`Ema: decay must be in [0, 1), got ${decay}`);
    for (const [k, v] of Object.entries(module.stateDict())) this.shadow.set(k, tf.variable(tf.clone(v), false));
  }

  /** Folds the module's current weights into the average. */
  update(): void {
    const live = this.module.stateDict();
    const params = new Set(this.module.parameters());
    tf.tidy(() => {
      for (const [k, s] of this.shadow) {
        const v = live[k]!;
        if (params.has(v as Variable) && v.dtype === 'float32') s.assign(tf.add(tf.mul(s, this.decay), tf.mul(v, 1 - this.decay)));
        else s.assign(tf.clone(v));
      }
    });
    this.updates++;
  }

  /** The averaged tensors by dotted name (live variables: do not dispose). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.shadow);
  }

  loadStateDict(dict: Record<string, Tensor>): void {
    tf.tidy(() => {
      for (const [k, s] of this.shadow) {
        const t = dict[k];
        if (!t) throw new InvalidArgumentError(`Ema.loadStateDict: missing '${k}'`);
        s.assign(tf.clone(t));
      }
    });
  }

  /** Runs `fn` with the averaged weights in the module, then puts the trained weights back. */
  withAveraged<T>(fn: () => T): T {
    const saved = this.module.stateDict({ clone: true });
    this.module.loadStateDict(this.stateDict());
    try {
      return fn();
    } finally {
      this.module.loadStateDict(saved);
      for (const t of Object.values(saved)) t.dispose();
    }
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}
