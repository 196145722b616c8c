import { InvalidArgumentError } from '@nutshell/core';

function check(name: string, a: readonly number[], b: readonly number[]): void {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) throw new InvalidArgumentError(`${name}: yTrue and yPred must be arrays of equal length`);
  if (a.length === 0) throw new InvalidArgumentError(`${name}: no samples`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!) || !Number.isFinite(b[i]!)) throw new InvalidArgumentError(`${name}: value ${i} is not finite`);
  }
}

export function meanSquaredError(yTrue: readonly number[], yPred: readonly number[]): number {
  check('meanSquaredError', yTrue, yPred);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (yTrue[i]! - yPred[i]!) ** 2;
  return s / yTrue.length;
}

export function meanAbsoluteError(yTrue: readonly number[], yPred: readonly number[]): number {
  check('meanAbsoluteError', yTrue, yPred);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs(yTrue[i]! - yPred[i]!);
  return s / yTrue.length;
}

/** Coefficient of determination; for constant yTrue, 1 if predictions are perfect else 0 (as sklearn). */
export function r2Score(yTrue: readonly number[], yPred: readonly number[]): number {
  check('r2Score', yTrue, yPred);
  const mean = yTrue.reduce((a, b) => a + b, 0) / yTrue.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < yTrue.length; i++) {
    ssRes += (yTrue[i]! - yPred[i]!) ** 2;
    ssTot += (yTrue[i]! - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}
