import { InvalidArgumentError, describe } from '@nutshell/core';

export interface RocCurve {
  /** Decreasing thresholds; the first is +Infinity (nothing predicted positive). */
  thresholds: number[];
  fpr: number[];
  tpr: number[];
}

function checkScores(name: string, xs: ArrayLike<number>): void {
  if (!xs || typeof xs.length !== 'number') throw new InvalidArgumentError(`${name} must be an array of numbers, got ${describe(xs)}`);
  for (let i = 0; i < xs.length; i++) if (typeof xs[i] !== 'number' || Number.isNaN(xs[i])) throw new InvalidArgumentError(`${name}[${i}] must be a number, got ${describe(xs[i])}`);
}

/**
 * ROC curve of "member if score ≥ threshold", one point per distinct score (sklearn's roc_curve with
 * drop_intermediate=False). Higher scores must mean "more likely a member".
 */
export function rocCurve(memberScores: ArrayLike<number>, nonMemberScores: ArrayLike<number>): RocCurve {
  checkScores('memberScores', memberScores);
  checkScores('nonMemberScores', nonMemberScores);
  const P = memberScores.length, N = nonMemberScores.length;
  if (P === 0 || N === 0) throw new InvalidArgumentError(`rocCurve: need both members and non-members, got ${P} and ${N}`);
  const all: [number, number][] = [];
  for (let i = 0; i < P; i++) all.push([memberScores[i]!, 1]);
  for (let i = 0; i < N; i++) all.push([nonMemberScores[i]!, 0]);
  all.sort((a, b) => b[0] - a[0]);
  const thresholds = [Infinity], fpr = [0], tpr = [0];
  let tp = 0, fp = 0;
  for (let i = 0; i < all.length; i++) {
    if (all[i]![1]) tp++;
    else fp++;
    if (i === all.length - 1 || all[i + 1]![0] !== all[i]![0]) {
      thresholds.push(all[i]![0]);
      tpr.push(tp / P);
      fpr.push(fp / N);
    }
  }
  return { thresholds, fpr, tpr };
}

/** Area under the ROC curve (trapezoids; ties count one half). */
export function auc(curve: RocCurve): number {
  let a = 0;
  for (let i = 1; i < curve.fpr.length; i++) a += (curve.fpr[i]! - curve.fpr[i - 1]!) * (curve.tpr[i]! + curve.tpr[i - 1]!) / 2;
  return a;
}

/** The best TPR among operating points with FPR ≤ `maxFpr` (how LiRA reports "TPR at 0.1% FPR"). */
export function tprAtFpr(curve: RocCurve, maxFpr: number): number {
  let best = 0;
  for (let i = 0; i < curve.fpr.length; i++) if (curve.fpr[i]! <= maxFpr && curve.tpr[i]! > best) best = curve.tpr[i]!;
  return best;
}

export interface MembershipReport {
  auc: number;
  /** TPR at FPR ≤ 0.1% and ≤ 1%, as Carlini et al. (LiRA) recommend reporting. */
  tpr_at_0_1pct_fpr: number;
  tpr_at_1pct_fpr: number;
  /** Membership advantage max(TPR − FPR) (Yeom et al. 2018); best balanced accuracy is (1 + advantage)/2. */
  advantage: number;
  members: number;
  non_members: number;
  /** With fewer than 1/FPR non-members, a low-FPR figure is not resolved; says so. */
  notes: string[];
}

/** AUC, TPR at low FPR and advantage of any membership score. */
export function membershipReport(memberScores: ArrayLike<number>, nonMemberScores: ArrayLike<number>): MembershipReport {
  const curve = rocCurve(memberScores, nonMemberScores);
  let adv = 0;
  for (let i = 0; i < curve.fpr.length; i++) adv = Math.max(adv, curve.tpr[i]! - curve.fpr[i]!);
  const notes: string[] = [];
  const N = nonMemberScores.length;
  if (N < 1000) notes.push(`only ${N} non-members: TPR at 0.1% FPR is the TPR at 0 false positives`);
  if (N < 100) notes.push(`only ${N} non-members: TPR at 1% FPR is the TPR at 0 false positives`);
  return {
    auc: auc(curve),
    tpr_at_0_1pct_fpr: tprAtFpr(curve, 0.001),
    tpr_at_1pct_fpr: tprAtFpr(curve, 0.01),
    advantage: adv,
    members: memberScores.length,
    non_members: N,
    notes,
  };
}
