import { checkLengths, checkWeights, normLabel, resolvePosLabel, type Label } from './labels.js';

/** A metric of (y_true, y_pred, sample_weight), like the functions fairlearn's MetricFrame takes. */
export type MetricFunction = (yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[]) => number;

export interface BinaryCounts { tp: number; fp: number; tn: number; fn: number }

/** Weighted confusion counts for a binary problem. */
export function confusionCounts(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[], posLabel?: Label): BinaryCounts {
  checkLengths('confusionCounts', yTrue.length, { y_pred: yPred, sample_weight: sampleWeight });
  checkWeights('confusionCounts', sampleWeight);
  const pos = resolvePosLabel('confusionCounts', yTrue, yPred, posLabel);
  const c: BinaryCounts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const w = sampleWeight ? sampleWeight[i]! : 1;
    const t = normLabel(yTrue[i]!) === pos;
    const p = normLabel(yPred[i]!) === pos;
    if (t && p) c.tp += w;
    else if (!t && p) c.fp += w;
    else if (!t && !p) c.tn += w;
    else c.fn += w;
  }
  return c;
}

// sklearn's confusion_matrix(normalize="true") turns 0/0 into 0, and fairlearn inherits that.
const rate = (num: number, den: number) => (den === 0 ? 0 : num / den);

/** Fraction (weighted) of predictions equal to the positive label. */
export function selectionRate(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[], posLabel: Label = 1): number {
  checkLengths('selectionRate', yTrue.length, { y_pred: yPred, sample_weight: sampleWeight });
  checkWeights('selectionRate', sampleWeight);
  const pos = normLabel(posLabel);
  let sel = 0, tot = 0;
  for (let i = 0; i < yPred.length; i++) {
    const w = sampleWeight ? sampleWeight[i]! : 1;
    tot += w;
    if (normLabel(yPred[i]!) === pos) sel += w;
  }
  return rate(sel, tot);
}

export function truePositiveRate(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[], posLabel?: Label): number {
  const c = confusionCounts(yTrue, yPred, sampleWeight, posLabel);
  return rate(c.tp, c.tp + c.fn);
}

export function falsePositiveRate(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[], posLabel?: Label): number {
  const c = confusionCounts(yTrue, yPred, sampleWeight, posLabel);
  return rate(c.fp, c.fp + c.tn);
}

export function trueNegativeRate(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[], posLabel?: Label): number {
  const c = confusionCounts(yTrue, yPred, sampleWeight, posLabel);
  return rate(c.tn, c.fp + c.tn);
}

export function falseNegativeRate(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[], posLabel?: Label): number {
  const c = confusionCounts(yTrue, yPred, sampleWeight, posLabel);
  return rate(c.fn, c.tp + c.fn);
}

/** Weighted accuracy for any labels (not only binary). */
export function accuracy(yTrue: readonly Label[], yPred: readonly Label[], sampleWeight?: readonly number[]): number {
  checkLengths('accuracy', yTrue.length, { y_pred: yPred, sample_weight: sampleWeight });
  checkWeights('accuracy', sampleWeight);
  let ok = 0, tot = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const w = sampleWeight ? sampleWeight[i]! : 1;
    tot += w;
    if (normLabel(yTrue[i]!) === normLabel(yPred[i]!)) ok += w;
  }
  return rate(ok, tot);
}

/** Number of rows (unweighted), like fairlearn's `count`. */
export function count(yTrue: readonly Label[]): number {
  return yTrue.length;
}
