import { InvalidArgumentError, describe } from '@nutshell/core';
import { logNormalCdf } from '../privacy/special.js';
import { membershipReport, type MembershipReport } from './roc.js';

export interface LossAttackResult extends MembershipReport {
  /** The decision threshold used for the accuracy figures (default: mean member loss, as Yeom et al.). */
  threshold: number;
  /** At the threshold: fraction of members called members / non-members called members. */
  tpr_at_threshold: number;
  fpr_at_threshold: number;
  balanced_accuracy: number;
}

/**
 * Loss-threshold attack (Yeom et al. 2018): a lower loss means "member". Scores are −loss; the
 * fixed-threshold figures use `threshold` (default: the average training loss).
 */
export function lossThresholdAttack(memberLosses: ArrayLike<number>, nonMemberLosses: ArrayLike<number>, threshold?: number): LossAttackResult {
  const m = Array.from(memberLosses), n = Array.from(nonMemberLosses);
  const report = membershipReport(m.map((x) => -x), n.map((x) => -x));
  const t = threshold ?? m.reduce((a, x) => a + x, 0) / m.length;
  if (typeof t !== 'number' || Number.isNaN(t)) throw new InvalidArgumentError(`lossThresholdAttack: threshold must be a number, got ${describe(t)}`);
  const tpr = m.filter((x) => x <= t).length / m.length;
  const fpr = n.filter((x) => x <= t).length / n.length;
  return { ...report, threshold: t, tpr_at_threshold: tpr, fpr_at_threshold: fpr, balanced_accuracy: (tpr + 1 - fpr) / 2 };
}

/**
 * LiRA's logit scaling of the true-class confidence: φ = log p − log(1 − p), computed stably from
 * the logits as z_y − logsumexp_{j≠y} z_j.
 */
export function logitScaledConfidence(logits: ArrayLike<number>, label: number): number {
  if (!Number.isInteger(label) || label < 0 || label >= logits.length) throw new InvalidArgumentError(`logitScaledConfidence: label ${describe(label)} is not a class index below ${logits.length}`);
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) if (j !== label && logits[j]! > max) max = logits[j]!;
  let s = 0;
  for (let j = 0; j < logits.length; j++) if (j !== label) s += Math.exp(logits[j]! - max);
  return logits[label]! - (max + Math.log(s));
}

/** φ from a probability p of the true class, clamped away from 0 and 1. */
export function logitScaleProbability(p: number): number {
  const c = Math.min(Math.max(p, 1e-30), 1 - 1e-16);
  return Math.log(c) - Math.log1p(-c);
}

export interface LiraInput {
  /** φ of the target model on each candidate example. */
  target: ArrayLike<number>;
  /** φ of shadow models trained WITHOUT each example: outStats[i] lists them for example i. */
  outStats: readonly ArrayLike<number>[];
  /** φ of shadow models trained WITH each example (online LiRA); omit for offline LiRA. */
  inStats?: readonly ArrayLike<number>[];
  /** Use one variance pooled over all examples (the paper's choice with few shadow models). */
  fixedVariance?: boolean;
}

const mean = (xs: ArrayLike<number>) => { let s = 0; for (let i = 0; i < xs.length; i++) s += xs[i]!; return s / xs.length; };
const variance = (xs: ArrayLike<number>, mu: number) => { let s = 0; for (let i = 0; i < xs.length; i++) s += (xs[i]! - mu) ** 2; return xs.length > 1 ? s / xs.length : 0; };
const logPdf = (x: number, mu: number, sd: number) => -0.5 * ((x - mu) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);

/**
 * LiRA membership scores (Carlini et al. 2022) from per-example Gaussian fits of shadow-model
 * statistics. Online: log N(φ; μ_in, σ_in²) − log N(φ; μ_out, σ_out²). Offline: the one-sided test
 * log Pr[Z < φ], Z ~ N(μ_out, σ_out²). Higher score = more likely a member. Shadow training itself
 * needs a model package; this is the statistical part.
 */
export function liraScores(input: LiraInput): Float64Array {
  const { target, outStats, inStats } = input;
  const n = target.length;
  if (outStats.length !== n) throw new InvalidArgumentError(`liraScores: ${n} targets but outStats for ${outStats.length} examples`);
  if (inStats && inStats.length !== n) throw new InvalidArgumentError(`liraScores: ${n} targets but inStats for ${inStats.length} examples`);
  const fit = (stats: readonly ArrayLike<number>[], kind: string) => stats.map((s, i) => {
    if (!s || s.length === 0) throw new InvalidArgumentError(`liraScores: ${kind}[${i}] has no shadow statistics`);
    const mu = mean(s);
    return { mu, v: variance(s, mu) };
  });
  const outFit = fit(outStats, 'outStats');
  const inFit = inStats ? fit(inStats, 'inStats') : undefined;
  const pooled = (f: { v: number }[]) => f.reduce((a, x) => a + x.v, 0) / f.length;
  const outPool = pooled(outFit), inPool = inFit ? pooled(inFit) : 0;
  const eps = 1e-30;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = target[i]!;
    const sdOut = Math.sqrt(input.fixedVariance ? outPool : outFit[i]!.v) + eps;
    if (inFit) {
      const sdIn = Math.sqrt(input.fixedVariance ? inPool : inFit[i]!.v) + eps;
      out[i] = logPdf(x, inFit[i]!.mu, sdIn) - logPdf(x, outFit[i]!.mu, sdOut);
    } else {
      out[i] = logNormalCdf((x - outFit[i]!.mu) / sdOut);
    }
  }
  return out;
}
