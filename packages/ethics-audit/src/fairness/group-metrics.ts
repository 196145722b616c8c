import type { Label } from './labels.js';
import { MetricFrame, type AggregationMethod, type SensitiveFeatures } from './metric-frame.js';
import { falsePositiveRate, selectionRate, truePositiveRate } from './metrics.js';

export interface GroupMetricInput {
  yTrue: readonly Label[];
  yPred: readonly Label[];
  sensitiveFeatures: SensitiveFeatures;
  sampleWeight?: readonly number[];
  method?: AggregationMethod;
  posLabel?: Label;
}

/** How equalized odds combines its TPR and FPR parts: fairlearn's default takes the worse one. */
export type OddsAggregation = 'worst_case' | 'mean';

const frame = (i: GroupMetricInput, metrics: Record<string, (t: readonly Label[], p: readonly Label[], w?: readonly number[]) => number>) =>
  new MetricFrame({ metrics, yTrue: i.yTrue, yPred: i.yPred, sensitiveFeatures: i.sensitiveFeatures, sampleWeight: i.sampleWeight });

const sel = (pos?: Label) => (t: readonly Label[], p: readonly Label[], w?: readonly number[]) => selectionRate(t, p, w, pos ?? 1);
const tpr = (pos?: Label) => (t: readonly Label[], p: readonly Label[], w?: readonly number[]) => truePositiveRate(t, p, w, pos);
const fpr = (pos?: Label) => (t: readonly Label[], p: readonly Label[], w?: readonly number[]) => falsePositiveRate(t, p, w, pos);

/** Largest gap in selection rate between groups (fairlearn `demographic_parity_difference`). */
export function demographicParityDifference(i: GroupMetricInput): number {
  return frame(i, { selection_rate: sel(i.posLabel) }).difference(i.method).selection_rate!;
}

/** Smallest ratio of selection rates (fairlearn `demographic_parity_ratio`). */
export function demographicParityRatio(i: GroupMetricInput): number {
  return frame(i, { selection_rate: sel(i.posLabel) }).ratio(i.method).selection_rate!;
}

/** Worse of the TPR and FPR differences (fairlearn `equalized_odds_difference`). */
export function equalizedOddsDifference(i: GroupMetricInput & { agg?: OddsAggregation }): number {
  const d = frame(i, { tpr: tpr(i.posLabel), fpr: fpr(i.posLabel) }).difference(i.method);
  return i.agg === 'mean' ? (d.tpr! + d.fpr!) / 2 : Math.max(d.tpr!, d.fpr!);
}

/** Worse of the TPR and FPR ratios (fairlearn `equalized_odds_ratio`). */
export function equalizedOddsRatio(i: GroupMetricInput & { agg?: OddsAggregation }): number {
  const r = frame(i, { tpr: tpr(i.posLabel), fpr: fpr(i.posLabel) }).ratio(i.method);
  return i.agg === 'mean' ? (r.tpr! + r.fpr!) / 2 : Math.min(r.tpr!, r.fpr!);
}

/** TPR difference between groups (fairlearn `equal_opportunity_difference`). */
export function equalOpportunityDifference(i: GroupMetricInput): number {
  return frame(i, { tpr: tpr(i.posLabel) }).difference(i.method).tpr!;
}

/** TPR ratio between groups (fairlearn `equal_opportunity_ratio`). */
export function equalOpportunityRatio(i: GroupMetricInput): number {
  return frame(i, { tpr: tpr(i.posLabel) }).ratio(i.method).tpr!;
}

export interface FairnessSummary {
  demographic_parity_difference: number;
  demographic_parity_ratio: number;
  equalized_odds_difference: number;
  equalized_odds_ratio: number;
  equal_opportunity_difference: number;
  equal_opportunity_ratio: number;
  overall: { selection_rate: number; tpr: number; fpr: number; count: number };
  by_group: Record<string, { selection_rate: number; tpr: number; fpr: number; count: number }>;
}

/** The fairlearn summary the `nutshell audit fairness` command prints. */
export function fairnessSummary(i: GroupMetricInput): FairnessSummary {
  const mf = frame(i, { selection_rate: sel(i.posLabel), tpr: tpr(i.posLabel), fpr: fpr(i.posLabel) });
  const d = mf.difference(i.method);
  const r = mf.ratio(i.method);
  const by_group: FairnessSummary['by_group'] = {};
  for (const g of mf.groups) {
    const v = mf.byGroup[g]!;
    by_group[g] = { selection_rate: v.selection_rate!, tpr: v.tpr!, fpr: v.fpr!, count: mf.groupCounts[g]! };
  }
  return {
    demographic_parity_difference: d.selection_rate!,
    demographic_parity_ratio: r.selection_rate!,
    equalized_odds_difference: Math.max(d.tpr!, d.fpr!),
    equalized_odds_ratio: Math.min(r.tpr!, r.fpr!),
    equal_opportunity_difference: d.tpr!,
    equal_opportunity_ratio: r.tpr!,
    overall: { selection_rate: mf.overall.selection_rate!, tpr: mf.overall.tpr!, fpr: mf.overall.fpr!, count: i.yTrue.length },
    by_group,
  };
}
