import { InvalidArgumentError, Rng, ShapeError, describe, rngFor, tf, type Tensor } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import { liraScores, lossThresholdAttack, type LossAttackResult } from './attacks.js';
import { membershipReport, type MembershipReport } from './roc.js';

export interface ClassifierSignals {
  /** Per-example cross-entropy loss. */
  losses: Float64Array;
  /** LiRA's logit-scaled confidence φ = log p_y − log(1 − p_y), computed stably from the logits. */
  phi: Float64Array;
}

/**
 * Membership signals of a classifier on (x, y): per-example loss and φ, in eval mode, in batches.
 * `forward` maps a batch to logits [B, classes] (default: model.forward).
 */
export function classifierSignals(model: Module, x: Tensor, y: Tensor | ArrayLike<number>, options: { batchSize?: number; forward?: (m: Module, x: Tensor) => Tensor } = {}): ClassifierSignals {
  const n = x.shape[0]!;
  const labels = Array.from(y instanceof tf.Tensor ? (y as Tensor).dataSync() : (y as ArrayLike<number>));
  if (labels.length !== n) throw new ShapeError(`classifierSignals: ${n} inputs but ${labels.length} labels`);
  const bs = options.batchSize ?? 512;
  const forward = options.forward ?? ((m: Module, b: Tensor) => m.forward(b) as Tensor);
  const wasTraining = model.training;
  model.eval();
  const losses = new Float64Array(n), phi = new Float64Array(n);
  try {
    for (let s = 0; s < n; s += bs) {
      const logits = tf.tidy(() => forward(model, tf.slice(x, [s], [Math.min(bs, n - s)])));
      if (logits.rank !== 2) {
        logits.dispose();
        throw new ShapeError(`classifierSignals: the model must return logits [B, classes], got rank ${logits.rank}`);
      }
      const C = logits.shape[1]!, d = logits.dataSync();
      logits.dispose();
      for (let i = 0; i < d.length / C; i++) {
        const row = d.subarray(i * C, (i + 1) * C), yi = labels[s + i]!;
        if (!Number.isInteger(yi) || yi < 0 || yi >= C) throw new InvalidArgumentError(`classifierSignals: label ${describe(yi)} at ${s + i} is not a class index below ${C}`);
        let max = -Infinity, maxOther = -Infinity;
        for (let j = 0; j < C; j++) {
          if (row[j]! > max) max = row[j]!;
          if (j !== yi && row[j]! > maxOther) maxOther = row[j]!;
        }
        let sAll = 0, sOther = 0;
        for (let j = 0; j < C; j++) {
          sAll += Math.exp(row[j]! - max);
          if (j !== yi) sOther += Math.exp(row[j]! - maxOther);
        }
        losses[s + i] = max + Math.log(sAll) - row[yi]!;
        phi[s + i] = row[yi]! - (maxOther + Math.log(sOther));
      }
    }
  } finally {
    if (wasTraining) model.train();
  }
  return { losses, phi };
}

export interface ShadowOptions {
  /** Size of the candidate pool the shadows (and the target) draw their training sets from. */
  numExamples: number;
  /** Number of shadow models (even; each example is IN for exactly half of them). */
  numShadows: number;
  seed?: number | string | Rng;
  /**
   * Trains shadow model `shadow` on the pool examples `members` and returns φ (or any per-example
   * membership statistic where larger = more member-like) for every pool example.
   */
  trainAndScore(members: number[], shadow: number): Promise<ArrayLike<number>> | ArrayLike<number>;
}

export interface ShadowStatistics {
  /** inStats[i]: the statistic of example i under the shadows trained with it. */
  inStats: number[][];
  outStats: number[][];
  /** masks[s][i]: whether shadow s trained on example i. */
  masks: boolean[][];
}

/**
 * Trains LiRA's shadow models (Carlini et al. 2022). Membership is balanced: every example is in the
 * training set of exactly half the shadows (chosen at random per example), so each example gets
 * numShadows/2 IN and OUT observations.
 */
export async function shadowStatistics(options: ShadowOptions): Promise<ShadowStatistics> {
  const { numExamples: n, numShadows: S } = options;
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`shadowStatistics: numExamples must be a positive integer, got ${describe(n)}`);
  if (!Number.isInteger(S) || S < 2 || S % 2) throw new InvalidArgumentError(`shadowStatistics: numShadows must be an even integer >= 2, got ${describe(S)}`);
  if (typeof options.trainAndScore !== 'function') throw new InvalidArgumentError('shadowStatistics: trainAndScore must be a function');
  const rng = options.seed instanceof Rng ? options.seed : rngFor(options.seed ?? 0);
  const masks = Array.from({ length: S }, () => new Array<boolean>(n).fill(false));
  for (let i = 0; i < n; i++) for (const s of rng.permutation(S).slice(0, S / 2)) masks[s]![i] = true;
  const inStats = Array.from({ length: n }, () => [] as number[]);
  const outStats = Array.from({ length: n }, () => [] as number[]);
  for (let s = 0; s < S; s++) {
    const members = masks[s]!.flatMap((m, i) => (m ? [i] : []));
    const stats = await options.trainAndScore(members, s);
    if (!stats || stats.length !== n) throw new ShapeError(`shadowStatistics: shadow ${s} returned ${stats?.length} statistics, expected ${n}`);
    for (let i = 0; i < n; i++) (masks[s]![i] ? inStats : outStats)[i]!.push(stats[i]!);
  }
  return { inStats, outStats, masks };
}

export interface MembershipEvaluation {
  /** Loss-threshold attack (Yeom et al. 2018). */
  loss: LossAttackResult;
  /** LiRA with IN and OUT shadows (online) and with OUT shadows only (offline), when shadows were given. */
  liraOnline?: MembershipReport;
  liraOffline?: MembershipReport;
  members: number;
  nonMembers: number;
}

/**
 * Runs the attacks against a target model's signals on a pool where `isMember[i]` says whether the
 * target trained on example i: the loss threshold, and LiRA online/offline from shadow statistics
 * (fixed variance when there are fewer than 64 shadows, as the paper recommends).
 */
export function evaluateMembership(input: { isMember: readonly boolean[]; target: ClassifierSignals; shadows?: ShadowStatistics; fixedVariance?: boolean }): MembershipEvaluation {
  const { isMember, target } = input;
  const n = isMember.length;
  if (target.losses.length !== n || target.phi.length !== n) throw new ShapeError(`evaluateMembership: ${n} membership labels but ${target.losses.length} target signals`);
  const split = (xs: ArrayLike<number>) => {
    const m: number[] = [], o: number[] = [];
    for (let i = 0; i < n; i++) (isMember[i] ? m : o).push(xs[i]!);
    return [m, o] as const;
  };
  const [ml, ol] = split(target.losses);
  if (!ml.length || !ol.length) throw new InvalidArgumentError('evaluateMembership: need both members and non-members');
  const out: MembershipEvaluation = { loss: lossThresholdAttack(ml, ol), members: ml.length, nonMembers: ol.length };
  if (input.shadows) {
    const S = input.shadows.inStats[0]!.length + input.shadows.outStats[0]!.length;
    const fixedVariance = input.fixedVariance ?? S < 64;
    const on = liraScores({ target: target.phi, inStats: input.shadows.inStats, outStats: input.shadows.outStats, fixedVariance });
    const off = liraScores({ target: target.phi, outStats: input.shadows.outStats, fixedVariance });
    out.liraOnline = membershipReport(...split(on));
    out.liraOffline = membershipReport(...split(off));
  }
  return out;
}
