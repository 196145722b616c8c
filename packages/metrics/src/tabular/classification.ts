import { InvalidArgumentError } from '@nutshell/core';

export type Label = number | string;
export type Average = 'micro' | 'macro' | 'weighted' | 'binary';

function checkPair(name: string, yTrue: readonly unknown[], yPred: readonly unknown[]): void {
  if (!Array.isArray(yTrue) || !Array.isArray(yPred)) throw new InvalidArgumentError(`${name}: yTrue and yPred must be arrays`);
  if (yTrue.length !== yPred.length) throw new InvalidArgumentError(`${name}: yTrue has ${yTrue.length} entries, yPred ${yPred.length}`);
  if (yTrue.length === 0) throw new InvalidArgumentError(`${name}: no samples`);
}

/** Sorted union of the labels (numbers numerically, strings lexically), as sklearn's unique_labels. */
export function uniqueLabels(...arrays: readonly (readonly Label[])[]): Label[] {
  const set = new Set<Label>();
  for (const a of arrays) for (const v of a) set.add(v);
  return [...set].sort((x, y) => (typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0));
}

export function accuracy(yTrue: readonly Label[], yPred: readonly Label[]): number {
  checkPair('accuracy', yTrue, yPred);
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hits++;
  return hits / yTrue.length;
}

/** Confusion matrix C[i][j] = samples of true label i predicted as j (rows/cols in `labels` order). */
export function confusionMatrix(yTrue: readonly Label[], yPred: readonly Label[], labels?: readonly Label[]): { labels: Label[]; matrix: number[][] } {
  checkPair('confusionMatrix', yTrue, yPred);
  const ls = labels ? [...labels] : uniqueLabels(yTrue, yPred);
  const index = new Map(ls.map((l, i) => [l, i]));
  const matrix = ls.map(() => new Array<number>(ls.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined && p !== undefined) matrix[t]![p]!++;
  }
  return { labels: ls, matrix };
}

export interface PrfOptions {
  /** Default 'binary' when there are at most 2 labels, else 'macro'. sklearn's default is always 'binary'. */
  average?: Average;
  /** Positive label for 'binary' (default 1). */
  posLabel?: Label;
  /** Labels to include (default: all present). */
  labels?: readonly Label[];
  /** F-beta's β (default 1). */
  beta?: number;
  /** Value for 0/0 (default 0, as sklearn's zero_division="warn"). */
  zeroDivision?: number;
}

export interface PrfResult {
  precision: number;
  recall: number;
  f: number;
  /** Per-label values (in `labels` order) when averaged over labels. */
  perLabel?: { labels: Label[]; precision: number[]; recall: number[]; f: number[]; support: number[] };
}

/** precision_recall_fscore_support of scikit-learn (binary, micro, macro, weighted). */
export function precisionRecallF(yTrue: readonly Label[], yPred: readonly Label[], options: PrfOptions = {}): PrfResult {
  checkPair('precisionRecallF', yTrue, yPred);
  const all = uniqueLabels(yTrue, yPred);
  const average = options.average ?? (all.length <= 2 ? 'binary' : 'macro');
  const beta = options.beta ?? 1;
  const zd = options.zeroDivision ?? 0;
  const div = (a: number, b: number) => (b === 0 ? zd : a / b);
  // sklearn 1.2: F from the (zero-division-resolved) precision and recall, a zero denominator read as 1.
  const fbeta = (p: number, r: number) => {
    const b2 = beta * beta;
    const denom = b2 * p + r;
    return ((1 + b2) * p * r) / (denom === 0 ? 1 : denom);
  };
  let labels: Label[];
  if (average === 'binary') {
    const pos = options.posLabel ?? 1;
    if (all.length > 2) throw new InvalidArgumentError(`precisionRecallF: average 'binary' needs at most 2 labels, got ${all.length}; use micro, macro or weighted`);
    if (all.length === 2 && !all.includes(pos)) throw new InvalidArgumentError(`precisionRecallF: posLabel ${JSON.stringify(pos)} is not among the labels ${JSON.stringify(all)}`);
    labels = [pos];
  } else labels = options.labels ? [...options.labels] : all;
  const tp = labels.map(() => 0);
  const pred = labels.map(() => 0);
  const act = labels.map(() => 0);
  const index = new Map(labels.map((l, i) => [l, i]));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined) act[t]!++;
    if (p !== undefined) pred[p]!++;
    if (t !== undefined && yTrue[i] === yPred[i]) tp[t]!++;
  }
  if (average === 'micro' || average === 'binary') {
    const TP = tp.reduce((a, b) => a + b, 0);
    const P = pred.reduce((a, b) => a + b, 0);
    const A = act.reduce((a, b) => a + b, 0);
    const precision = div(TP, P);
    const recall = div(TP, A);
    return { precision, recall, f: fbeta(precision, recall) };
  }
  const precision = labels.map((_, i) => div(tp[i]!, pred[i]!));
  const recall = labels.map((_, i) => div(tp[i]!, act[i]!));
  const f = labels.map((_, i) => fbeta(precision[i]!, recall[i]!));
  const weights = average === 'weighted' ? act : labels.map(() => 1);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const avg = (v: number[]) => (wsum === 0 ? zd : v.reduce((a, x, i) => a + x * weights[i]!, 0) / wsum);
  return {
    precision: avg(precision),
    recall: avg(recall),
    f: avg(f),
    perLabel: { labels, precision, recall, f, support: act },
  };
}

function checkScores(name: string, yTrue: readonly Label[], scores: readonly number[], posLabel: Label): boolean[] {
  checkPair(name, yTrue, scores);
  const labels = uniqueLabels(yTrue);
  if (labels.length !== 2) throw new InvalidArgumentError(`${name}: needs both classes in yTrue (binary), got labels ${JSON.stringify(labels)}`);
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) throw new InvalidArgumentError(`${name}: score ${i} is ${s}`);
  });
  return yTrue.map((y) => y === posLabel);
}

/** Distinct thresholds (descending score) with cumulative true/false positive counts, as sklearn's _binary_clf_curve. */
function clfCurve(pos: boolean[], scores: readonly number[]): { tps: number[]; fps: number[] } {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (pos[i]) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(fp);
    }
  }
  return { tps, fps };
}

/** Area under the ROC curve (binary; ties handled as sklearn: trapezoids between distinct thresholds). */
export function rocAuc(yTrue: readonly Label[], scores: readonly number[], options: { posLabel?: Label } = {}): number {
  const pos = checkScores('rocAuc', yTrue, scores, options.posLabel ?? 1);
  const { tps, fps } = clfCurve(pos, scores);
  const P = tps[tps.length - 1]!;
  const N = fps[fps.length - 1]!;
  if (P === 0 || N === 0) throw new InvalidArgumentError('rocAuc: needs at least one positive and one negative sample (check posLabel)');
  let auc = 0;
  let px = 0;
  let py = 0;
  for (let k = 0; k < tps.length; k++) {
    const x = fps[k]! / N;
    const y = tps[k]! / P;
    auc += ((x - px) * (y + py)) / 2;
    px = x;
    py = y;
  }
  return auc;
}

/** Average precision Σ (R_n − R_{n−1}) P_n over distinct thresholds, as sklearn's average_precision_score. */
export function averagePrecision(yTrue: readonly Label[], scores: readonly number[], options: { posLabel?: Label } = {}): number {
  const pos = checkScores('averagePrecision', yTrue, scores, options.posLabel ?? 1);
  const { tps, fps } = clfCurve(pos, scores);
  const P = tps[tps.length - 1]!;
  if (P === 0) throw new InvalidArgumentError('averagePrecision: no positive samples (check posLabel)');
  let ap = 0;
  let prevR = 0;
  for (let k = 0; k < tps.length; k++) {
    const precision = tps[k]! / (tps[k]! + fps[k]!);
    const recall = tps[k]! / P;
    ap += (recall - prevR) * precision;
    prevR = recall;
  }
  return ap;
}

/**
 * Mean negative log-likelihood of the true labels (sklearn's log_loss). `probabilities[i]` is either
 * the probability of the positive class (binary, labels sorted: the larger one is positive) or one
 * probability per label in sorted-label order. Probabilities are clipped to [ε, 1−ε] (ε = 2^-52,
 * float64 machine epsilon as sklearn's eps="auto") and rows renormalized.
 */
export function logLoss(yTrue: readonly Label[], probabilities: readonly (number | readonly number[])[], options: { labels?: readonly Label[] } = {}): number {
  checkPair('logLoss', yTrue, probabilities);
  const labels = options.labels ? [...options.labels] : uniqueLabels(yTrue);
  if (labels.length < 2) throw new InvalidArgumentError(`logLoss: needs at least 2 labels, got ${JSON.stringify(labels)}; pass options.labels`);
  const index = new Map(labels.map((l, i) => [l, i]));
  const eps = 2 ** -52;
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const raw = probabilities[i]!;
    const row = typeof raw === 'number' ? [1 - raw, raw] : [...raw];
    if (row.length !== labels.length) throw new InvalidArgumentError(`logLoss: row ${i} has ${row.length} probabilities for ${labels.length} labels`);
    const clipped = row.map((p) => Math.min(Math.max(p, eps), 1 - eps));
    const s = clipped.reduce((a, b) => a + b, 0);
    const t = index.get(yTrue[i]!);
    if (t === undefined) throw new InvalidArgumentError(`logLoss: label ${JSON.stringify(yTrue[i])} is not among ${JSON.stringify(labels)}`);
    total -= Math.log(clipped[t]! / s);
  }
  return total / yTrue.length;
}
