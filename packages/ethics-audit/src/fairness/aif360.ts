import { InvalidArgumentError, describe } from '@nutshell/core';
import { checkLengths, checkWeights, normLabel, type Label } from './labels.js';

export interface PrivilegedInput {
  yTrue: readonly Label[];
  yPred: readonly Label[];
  /** The protected attribute per row. */
  protectedAttribute: readonly (string | number | boolean)[];
  /** Value(s) of the protected attribute that form the privileged group; all other rows are unprivileged. */
  privileged: string | number | boolean | readonly (string | number | boolean)[];
  /** The favorable label (AIF360's `favorable_label`), default 1. */
  favorableLabel?: Label;
  /** Instance weights, used the way AIF360 uses them (weighted counts). */
  sampleWeight?: readonly number[];
}

interface GroupRates { n: number; selection: number; tpr: number; fpr: number; baseRate: number }

export interface Aif360Report {
  /** P(ŷ=fav | unprivileged) / P(ŷ=fav | privileged). */
  disparate_impact: number;
  /** The 4/5 (80%) rule of the US EEOC guidelines: disparate impact ≥ 0.8. */
  four_fifths_rule: { threshold: number; passes: boolean };
  statistical_parity_difference: number;
  /** TPR_unpriv − TPR_priv. */
  equal_opportunity_difference: number;
  /** ½[(FPR_u − FPR_p) + (TPR_u − TPR_p)]. */
  average_odds_difference: number;
  /** ½[|FPR_u − FPR_p| + |TPR_u − TPR_p|]. */
  average_abs_odds_difference: number;
  /** Generalized entropy index with α = 1 over all rows (unweighted, as in AIF360). */
  theil_index: number;
  privileged: GroupRates;
  unprivileged: GroupRates;
}

function rates(rows: number[], t: boolean[], p: boolean[], w: (i: number) => number): GroupRates {
  let n = 0, sel = 0, pos = 0, neg = 0, tp = 0, fp = 0;
  for (const i of rows) {
    const wi = w(i);
    n += wi;
    if (p[i]) sel += wi;
    if (t[i]) { pos += wi; if (p[i]) tp += wi; } else { neg += wi; if (p[i]) fp += wi; }
  }
  // AIF360 divides without guarding, so an empty denominator gives NaN.
  return { n, selection: sel / n, tpr: tp / pos, fpr: fp / neg, baseRate: pos / n };
}

/** Group fairness metrics with AIF360's names and conventions (privileged vs unprivileged). */
export function aif360Metrics(input: PrivilegedInput): Aif360Report {
  const { yTrue, yPred, protectedAttribute, sampleWeight } = input;
  checkLengths('aif360Metrics', yTrue.length, { y_pred: yPred, protected_attribute: protectedAttribute, sample_weight: sampleWeight });
  checkWeights('aif360Metrics', sampleWeight);
  const fav = normLabel(input.favorableLabel ?? 1);
  const privSet = new Set((Array.isArray(input.privileged) ? input.privileged : [input.privileged]).map(String));
  const t = yTrue.map((v) => normLabel(v) === fav);
  const p = yPred.map((v) => normLabel(v) === fav);
  const priv: number[] = [], unpriv: number[] = [];
  protectedAttribute.forEach((a, i) => (privSet.has(String(a)) ? priv : unpriv).push(i));
  if (priv.length === 0 || unpriv.length === 0) {
    throw new InvalidArgumentError(`aif360Metrics: need rows in both groups; privileged=${describe([...privSet])} has ${priv.length}, unprivileged has ${unpriv.length}`);
  }
  const w = (i: number) => (sampleWeight ? sampleWeight[i]! : 1);
  const P = rates(priv, t, p, w);
  const U = rates(unpriv, t, p, w);
  const di = U.selection / P.selection;
  return {
    disparate_impact: di,
    four_fifths_rule: { threshold: 0.8, passes: di >= 0.8 },
    statistical_parity_difference: U.selection - P.selection,
    equal_opportunity_difference: U.tpr - P.tpr,
    average_odds_difference: 0.5 * (U.fpr - P.fpr + (U.tpr - P.tpr)),
    average_abs_odds_difference: 0.5 * (Math.abs(U.fpr - P.fpr) + Math.abs(U.tpr - P.tpr)),
    theil_index: generalizedEntropyIndex(yTrue, yPred, 1, input.favorableLabel),
    privileged: P,
    unprivileged: U,
  };
}

/**
 * AIF360's generalized entropy index of the benefits b_i = ŷ_i − y_i + 1 (Speicher et al. 2018).
 * α = 1 is the Theil index.
 */
export function generalizedEntropyIndex(yTrue: readonly Label[], yPred: readonly Label[], alpha = 2, favorableLabel: Label = 1): number {
  checkLengths('generalizedEntropyIndex', yTrue.length, { y_pred: yPred });
  if (yTrue.length === 0) throw new InvalidArgumentError('generalizedEntropyIndex: no rows');
  const fav = normLabel(favorableLabel);
  const b = yTrue.map((t, i) => (normLabel(yPred[i]!) === fav ? 1 : 0) - (normLabel(t) === fav ? 1 : 0) + 1);
  const mu = b.reduce((a, x) => a + x, 0) / b.length;
  let s = 0;
  for (const bi of b) {
    const r = bi / mu;
    if (alpha === 1) s += r === 0 ? 0 : r * Math.log(r);
    else if (alpha === 0) s += -Math.log(r);
    else s += (r ** alpha - 1) / (alpha * (alpha - 1));
  }
  return s / b.length;
}

/** Theil index (generalized entropy index with α = 1). */
export function theilIndex(yTrue: readonly Label[], yPred: readonly Label[], favorableLabel: Label = 1): number {
  return generalizedEntropyIndex(yTrue, yPred, 1, favorableLabel);
}
