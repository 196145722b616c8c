import type { Tensor } from '@nutshell/core';
import type { Module, Optimizer } from '@nutshell/nn';

/** A saved copy of a module's weights and its optimizer's state. */
export interface Snapshot {
  weights: Record<string, Tensor>;
  optimizer: ReturnType<Optimizer<any>['stateDict']>;
}

export function snapshot(module: Module, optimizer: Optimizer<any>): Snapshot {
  return { weights: module.stateDict({ clone: true }), optimizer: optimizer.stateDict() };
}

/** Puts a snapshot back and frees it. */
export function restore(module: Module, optimizer: Optimizer<any>, s: Snapshot): void {
  try {
    module.loadStateDict(s.weights);
    optimizer.loadStateDict(s.optimizer);
  } finally {
    for (const t of Object.values(s.weights)) t.dispose();
    for (const t of Object.values(s.optimizer.tensors)) t.dispose();
  }
}

/**
 * Unrolled GAN (Metz et al. 2017), first-order form: take K discriminator steps (`dStep`), run
 * `fn` (the generator update against the look-ahead D), then restore D's weights and optimizer
 * state, so only the generator sees the future. This is the surrogate most PyTorch ports use; it
 * does not differentiate through the K updates.
 */
export function withUnrolledDiscriminator<T>(d: Module, optD: Optimizer<any>, k: number, dStep: (i: number) => void, fn: () => T): T {
  const s = snapshot(d, optD);
  try {
    for (let i = 0; i < k; i++) dStep(i);
    return fn();
  } finally {
    restore(d, optD, s);
  }
}
