import { readFileSync } from 'node:fs';
import { Rng } from '@nutshell/core';
import { auc, liraScores, logitScaleProbability, logitScaledConfidence, lossThresholdAttack, membershipReport, rocCurve, tprAtFpr } from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const fx = JSON.parse(readFileSync(new URL('./fixtures/roc.json', import.meta.url), 'utf8'));

describe('ROC, AUC and TPR at low FPR (scikit-learn fixtures)', () => {
  it.each(fx.cases.map((c: unknown, i: number) => [i, c]))('case %i', (_i, c) => {
    const curve = rocCurve(c.members, c.non_members);
    expect(curve.fpr.length).toBe(c.fpr.length);
    curve.fpr.forEach((v, k) => expect(v).toBeCloseTo(c.fpr[k], 12));
    curve.tpr.forEach((v, k) => expect(v).toBeCloseTo(c.tpr[k], 12));
    expect(auc(curve)).toBeCloseTo(c.auc, 12);
    expect(tprAtFpr(curve, 0.001)).toBeCloseTo(c.tpr_at_0_1pct, 12);
    expect(tprAtFpr(curve, 0.01)).toBeCloseTo(c.tpr_at_1pct, 12);
  });

  it('report, loss attack and typed errors', () => {
    const r = membershipReport([3, 2, 1], [0, -1, -2]);
    expect(r.auc).toBe(1);
    expect(r.advantage).toBe(1);
    expect(r.notes.length).toBe(2);
    const l = lossThresholdAttack([0.1, 0.2, 0.3, 2], [0.25, 1, 2, 3]);
    expect(l.threshold).toBeCloseTo(0.65);
    expect(l.tpr_at_threshold).toBe(0.75);
    expect(l.fpr_at_threshold).toBe(0.25);
    expect(() => rocCurve([], [1])).toThrow(/both/);
    expect(() => rocCurve([NaN], [1])).toThrow(/memberScores\[0\]/);
  });
});

describe('LiRA statistics', () => {
  it('logit scaling is stable and consistent', () => {
    expect(logitScaledConfidence([2, 0, 0], 0)).toBeCloseTo(Math.log(Math.exp(2) / (Math.exp(2) + 2)) - Math.log(2 / (Math.exp(2) + 2)), 12);
    expect(logitScaleProbability(0.5)).toBe(0);
    expect(Number.isFinite(logitScaledConfidence([1000, -1000], 0))).toBe(true);
  });

  it('online and offline LiRA separate members from non-members on simulated shadow statistics', () => {
    const rng = new Rng('lira');
    const n = 400, shadows = 16;
    const target: number[] = [], inS: number[][] = [], outS: number[][] = [], member: boolean[] = [];
    for (let i = 0; i < n; i++) {
      // Per-example difficulty: the "in" distribution is shifted up by a per-example gap.
      const base = rng.normal(0, 2), gap = 0.5 + rng.uniform() * 2, sd = 0.3 + rng.uniform() * 0.5;
      inS.push(Array.from({ length: shadows }, () => rng.normal(base + gap, sd)));
      outS.push(Array.from({ length: shadows }, () => rng.normal(base, sd)));
      member.push(i % 2 === 0);
      target.push(rng.normal(member[i] ? base + gap : base, sd));
    }
    const split = (s: Float64Array) => [[...s].filter((_, i) => member[i]), [...s].filter((_, i) => !member[i])] as const;
    const online = membershipReport(...split(liraScores({ target, inStats: inS, outStats: outS })));
    const offline = membershipReport(...split(liraScores({ target, outStats: outS })));
    const global = membershipReport(target.filter((_, i) => member[i]), target.filter((_, i) => !member[i]));
    expect(online.auc).toBeGreaterThan(0.9);
    expect(offline.auc).toBeGreaterThan(0.85);
    // Calibrating per example beats a global threshold on the raw score.
    expect(online.auc).toBeGreaterThan(global.auc + 0.1);
    expect(online.tpr_at_1pct_fpr).toBeGreaterThan(global.tpr_at_1pct_fpr);
    expect(() => liraScores({ target: [1], outStats: [] })).toThrow(/outStats/);
  });
});
