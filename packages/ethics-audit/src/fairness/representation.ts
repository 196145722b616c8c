import { InvalidArgumentError, Rng, describe } from '@nutshell/core';
import { logChiSquareSf, normalQuantile } from '../stats/distributions.js';
import { quantile } from './bootstrap.js';

/**
 * Representation audit of generated samples: the distribution of an attribute (as labelled by an
 * attribute classifier) against a reference distribution — Pearson's χ² goodness-of-fit test, total
 * variation distance with a bootstrap interval (and its value expected from sampling noise alone),
 * per-class Wilson score intervals, and the min/max representation ratio. Optionally corrects the
 * observed shares for the classifier's confusion matrix (black-box shift estimation, Lipton et al. 2018).
 */

export interface RepresentationOptions {
  /** Class names, in label order (labels are indices 0…K−1). */
  classes: readonly string[];
  /** Reference shares per class (normalised; default uniform). */
  reference?: readonly number[] | Record<string, number>;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** Bootstrap resamples for the TV interval (default 1000). */
  iterations?: number;
  seed?: number;
  /**
   * Classifier confusion C[i][j] = P(predicted i | true j), estimated on labelled held-out data
   * (`confusionMatrix`); when given, shares are corrected by solving C·p = q.
   */
  confusion?: readonly (readonly number[])[];
}

export interface ClassShare {
  class: string;
  count: number;
  share: number;
  reference: number;
  /** Wilson score interval of the share (of the observed labels, before any correction). */
  low: number;
  high: number;
  /** share / reference. */
  ratio: number;
}

export interface RepresentationReport {
  n: number;
  byClass: ClassShare[];
  /** ½ Σ |p̂ − r|, its percentile bootstrap interval, and the mean TV of samples drawn from the reference itself (n the same). */
  totalVariation: { value: number; low: number; high: number; level: number; expectedUnderReference: number };
  /** Pearson's χ² goodness of fit against the reference (counts of the observed labels). */
  chiSquare: { statistic: number; dof: number; pValue: number };
  /** min over classes of (share / reference) divided by the max: 1 = proportional representation. */
  minMaxRatio: number;
  /** Shares after the confusion correction (when a confusion matrix was given). */
  corrected?: number[];
}

function normaliseReference(ref: RepresentationOptions['reference'], classes: readonly string[]): number[] {
  const K = classes.length;
  let r: number[];
  if (ref === undefined) r = new Array<number>(K).fill(1);
  else if (Array.isArray(ref)) r = [...ref];
  else if (typeof ref === 'object') r = classes.map((c) => (ref as Record<string, number>)[c] ?? 0);
  else throw new InvalidArgumentError(`representationAudit: reference must be an array or a record of shares, got ${describe(ref)}`);
  if (r.length !== K || r.some((v) => !(v >= 0) || !Number.isFinite(v))) throw new InvalidArgumentError(`representationAudit: reference needs ${K} non-negative shares, got ${describe(ref)}`);
  const s = r.reduce((a, b) => a + b, 0);
  if (!(s > 0)) throw new InvalidArgumentError('representationAudit: reference shares sum to 0');
  return r.map((v) => v / s);
}

function wilson(k: number, n: number, z: number): [number, number] {
  const p = k / n, d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d, h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

const tv = (p: ArrayLike<number>, r: readonly number[]) => { let s = 0; for (let k = 0; k < r.length; k++) s += Math.abs(p[k]! - r[k]!); return s / 2; };

/** Draws a multinomial(n, p) sample of counts into `out`. */
function multinomial(rng: Rng, n: number, cdf: Float64Array, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    let lo = 0, hi = cdf.length - 1;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (cdf[mid]! > u) hi = mid; else lo = mid + 1; }
    out[lo]!++;
  }
}

/** Solves C p = q (K×K, partial pivoting), then projects p onto the probability simplex by clipping and renormalising. */
function correctShares(C: readonly (readonly number[])[], q: readonly number[]): number[] {
  const K = q.length;
  if (C.length !== K || C.some((row) => !Array.isArray(row) || row.length !== K)) throw new InvalidArgumentError(`representationAudit: confusion must be ${K}×${K}`);
  const A = C.map((row, i) => [...row, q[i]!]);
  for (let c = 0; c < K; c++) {
    let piv = c;
    for (let r = c + 1; r < K; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    if (Math.abs(A[piv]![c]!) < 1e-12) throw new InvalidArgumentError('representationAudit: the confusion matrix is singular (a class is never predicted correctly)');
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    for (let r = 0; r < K; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k <= K; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  const p = A.map((row, i) => Math.max(0, row[K]! / row[i]!));
  const s = p.reduce((a, b) => a + b, 0);
  return s > 0 ? p.map((v) => v / s) : p;
}

/** Audits the attribute labels (class indices) of generated samples against the reference. */
export function representationAudit(labels: ArrayLike<number>, options: RepresentationOptions): RepresentationReport {
  const classes = options?.classes;
  if (!Array.isArray(classes) || classes.length < 2) throw new InvalidArgumentError(`representationAudit: classes must list at least two class names, got ${describe(classes)}`);
  if (!labels || typeof labels.length !== 'number' || labels.length === 0) throw new InvalidArgumentError(`representationAudit: expected a non-empty array of labels, got ${describe(labels)}`);
  const K = classes.length, n = labels.length;
  const ref = normaliseReference(options.reference, classes);
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new InvalidArgumentError(`representationAudit: level must be in (0, 1), got ${describe(level)}`);
  const counts = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= K) throw new InvalidArgumentError(`representationAudit: label ${i} is ${describe(l)}, expected an integer class index in 0…${K - 1}`);
    counts[l]!++;
  }
  const observed = Array.from(counts, (c) => c / n);
  const corrected = options.confusion ? correctShares(options.confusion, observed) : undefined;
  const shares = corrected ?? observed;
  const z = normalQuantile(1 - (1 - level) / 2);

  // Pearson χ² on the observed counts; a class the reference excludes but that appears makes it infinite.
  let chi = 0, dof = -1;
  for (let k = 0; k < K; k++) {
    const e = n * ref[k]!;
    if (e > 0) { chi += (counts[k]! - e) ** 2 / e; dof++; } else if (counts[k]! > 0) chi = Infinity;
  }
  const pValue = chi === Infinity ? 0 : dof > 0 ? Math.exp(logChiSquareSf(chi, dof)) : 1;

  // Bootstrap TV: resample the observed labels (multinomial on p̂), and the same n drawn from the reference.
  const iterations = options.iterations ?? 1000;
  if (!Number.isInteger(iterations) || iterations < 10) throw new InvalidArgumentError(`representationAudit: iterations must be an integer >= 10, got ${describe(iterations)}`);
  const rng = new Rng(options.seed ?? 0);
  const cdfOf = (p: readonly number[]) => { const c = new Float64Array(K); let s = 0; p.forEach((v, k) => { s += v; c[k] = s; }); c[K - 1] = 1.0000001; return c; };
  const cdfObs = cdfOf(observed), cdfRef = cdfOf(ref), buf = new Float64Array(K);
  const boot: number[] = [];
  let nullSum = 0;
  for (let b = 0; b < iterations; b++) {
    multinomial(rng, n, cdfObs, buf);
    const q = Array.from(buf, (c) => c / n);
    boot.push(tv(corrected ? correctShares(options.confusion!, q) : q, ref));
    multinomial(rng, n, cdfRef, buf);
    nullSum += tv(Array.from(buf, (c) => c / n), ref);
  }
  boot.sort((a, b) => a - b);
  const a = (1 - level) / 2;

  const byClass: ClassShare[] = classes.map((c, k) => {
    const [low, high] = wilson(counts[k]!, n, z);
    return { class: c, count: counts[k]!, share: shares[k]!, reference: ref[k]!, low, high, ratio: ref[k]! > 0 ? shares[k]! / ref[k]! : Infinity };
  });
  const ratios = byClass.filter((c) => c.reference > 0).map((c) => c.ratio);
  const maxR = Math.max(...ratios);
  return {
    n,
    byClass,
    totalVariation: { value: tv(shares, ref), low: quantile(boot, a), high: quantile(boot, 1 - a), level, expectedUnderReference: nullSum / iterations },
    chiSquare: { statistic: chi, dof, pValue },
    minMaxRatio: maxR > 0 ? Math.min(...ratios) / maxR : 0,
    ...(corrected ? { corrected } : {}),
  };
}

/** C[i][j] = P(predicted i | true j) from labelled held-out predictions. */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number[][] {
  if (!yTrue || !yPred || yTrue.length !== yPred.length || yTrue.length === 0) throw new InvalidArgumentError('confusionMatrix: yTrue and yPred must be non-empty and of equal length');
  const C = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const col = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!, p = yPred[i]!;
    if (!Number.isInteger(t) || !Number.isInteger(p) || t < 0 || p < 0 || t >= numClasses || p >= numClasses) throw new InvalidArgumentError(`confusionMatrix: labels must be integers in 0…${numClasses - 1}, got ${describe(t)}, ${describe(p)} at ${i}`);
    C[p]![t]!++;
    col[t]!++;
  }
  for (let j = 0; j < numClasses; j++) for (let i = 0; i < numClasses; i++) C[i]![j] = col[j] ? C[i]![j]! / col[j]! : i === j ? 1 : 0;
  return C;
}
