import { InvalidArgumentError, describe } from '@nutshell/core';

/** A class label as it comes from JSON or CSV. Booleans count as 1/0. */
export type Label = number | string | boolean;

/** Normalizes a label so `1`, `"1"` and `true` compare equal. */
export function normLabel(v: Label): string {
  if (v === true) return '1';
  if (v === false) return '0';
  return String(v);
}

export function checkLengths(name: string, n: number, arrays: Record<string, ArrayLike<unknown> | undefined>): void {
  for (const [key, arr] of Object.entries(arrays)) {
    if (arr === undefined) continue;
    if (!arr || typeof arr.length !== 'number') throw new InvalidArgumentError(`${name}: ${key} must be an array, got ${describe(arr)}`);
    if (arr.length !== n) throw new InvalidArgumentError(`${name}: ${key} has ${arr.length} entries but y_true has ${n}`);
  }
}

export function checkWeights(name: string, w: ArrayLike<number> | undefined): void {
  if (!w) return;
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
      throw new InvalidArgumentError(`${name}: sample_weight[${i}] must be a finite number >= 0, got ${describe(x)}`);
    }
  }
}

/**
 * The positive label for binary metrics. Like fairlearn/sklearn: with no `posLabel`, the labels must
 * be a subset of {0, 1} (or booleans) and 1 is positive.
 */
export function resolvePosLabel(name: string, yTrue: readonly Label[], yPred: readonly Label[], posLabel?: Label): string {
  const seen = new Set<string>();
  for (const v of yTrue) seen.add(normLabel(v));
  for (const v of yPred) seen.add(normLabel(v));
  if (seen.size > 2) throw new InvalidArgumentError(`${name}: expected binary labels, found ${seen.size} distinct values (${[...seen].slice(0, 5).join(', ')})`);
  if (posLabel !== undefined) return normLabel(posLabel);
  for (const v of seen) {
    if (v !== '0' && v !== '1') {
      throw new InvalidArgumentError(`${name}: labels are ${[...seen].join(', ')}; give posLabel (with no posLabel, labels must be 0/1)`);
    }
  }
  return '1';
}
