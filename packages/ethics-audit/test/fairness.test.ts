import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@nutshell/core';
import {
  MetricFrame, accuracy, aif360Metrics, bootstrapInterval, demographicParityDifference, demographicParityRatio,
  equalizedOddsDifference, equalizedOddsRatio, fairnessSummary, reweighing, selectionRate, theilIndex, truePositiveRate,
  type Label,
} from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const fx = JSON.parse(readFileSync(new URL('./fixtures/fairness.json', import.meta.url), 'utf8'));

const close = (a: number, b: number) => (Number.isNaN(b) ? expect(a).toBeNaN() : expect(a).toBeCloseTo(b, 12));

describe('fairlearn conventions (fixtures from scripts/gen_fixtures.py)', () => {
  it.each(fx.fairlearn.map((c: { name: string }) => [c.name, c]))('%s', (_n, c) => {
    const i = c.input;
    const input = { yTrue: i.y_true, yPred: i.y_pred, sensitiveFeatures: i.sensitive_features, sampleWeight: i.sample_weight, method: i.method, posLabel: i.pos_label };
    const s = fairnessSummary(input);
    for (const k of ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'equalized_odds_ratio', 'equal_opportunity_difference', 'equal_opportunity_ratio']) {
      close((s as unknown as Record<string, number>)[k]!, c.expected[k]);
    }
    expect(Object.keys(s.by_group)).toEqual(Object.keys(c.expected.by_group));
    for (const [g, v] of Object.entries(c.expected.by_group as Record<string, Record<string, number>>)) {
      for (const m of ['selection_rate', 'tpr', 'fpr', 'count']) close((s.by_group[g] as unknown as Record<string, number>)[m]!, v[m]!);
    }
    for (const m of ['selection_rate', 'tpr', 'fpr']) close((s.overall as unknown as Record<string, number>)[m]!, c.expected.overall[m]);
    close(demographicParityDifference(input), c.expected.demographic_parity_difference);
    close(demographicParityRatio(input), c.expected.demographic_parity_ratio);
    close(equalizedOddsDifference(input), c.expected.equalized_odds_difference);
    close(equalizedOddsRatio(input), c.expected.equalized_odds_ratio);
  });

  it('MetricFrame evaluates any metric by group, with extremes, differences and ratios', () => {
    const yTrue = [1, 0, 1, 1, 0, 0, 1, 0];
    const yPred = [1, 0, 0, 1, 1, 0, 1, 1];
    const sf = ['m', 'm', 'm', 'm', 'f', 'f', 'f', 'f'];
    const mf = new MetricFrame({ metrics: { accuracy, selection: selectionRate }, yTrue, yPred, sensitiveFeatures: sf });
    expect(mf.groups).toEqual(['f', 'm']);
    expect(mf.byGroup.m!.accuracy).toBe(0.75);
    expect(mf.byGroup.f!.accuracy).toBe(0.5);
    expect(mf.overall.accuracy).toBe(0.625);
    expect(mf.difference().accuracy).toBe(0.25);
    expect(mf.ratio().accuracy).toBeCloseTo(0.5 / 0.75, 14);
    expect(mf.difference('to_overall').accuracy).toBe(0.125);
    expect(mf.groupMin().selection).toBe(0.5);
    expect(mf.groupMax().selection).toBe(0.75);
    // Intersectional groups from two features.
    const mf2 = new MetricFrame({ metrics: accuracy, yTrue, yPred, sensitiveFeatures: { sex: sf, age: [1, 2, 1, 2, 1, 2, 1, 2] } });
    expect(mf2.groups).toEqual(['f, 1', 'f, 2', 'm, 1', 'm, 2']);
    expect(mf2.groupCounts['m, 1']).toBe(2);
    // Sample weights count in every metric.
    const w = new MetricFrame({ metrics: { tpr: truePositiveRate }, yTrue, yPred, sensitiveFeatures: sf, sampleWeight: [1, 1, 3, 1, 1, 1, 1, 1] });
    expect(w.byGroup.m!.tpr).toBeCloseTo(2 / 5, 14);
  });

  it('typed errors on malformed input', () => {
    expect(() => fairnessSummary({ yTrue: [1, 0], yPred: [1], sensitiveFeatures: ['a', 'b'] })).toThrow(InvalidArgumentError);
    expect(() => fairnessSummary({ yTrue: [1, 0], yPred: [1, 0], sensitiveFeatures: ['a'] })).toThrow(/sensitive_features has 1/);
    expect(() => fairnessSummary({ yTrue: [1, 2, 0], yPred: [1, 0, 0], sensitiveFeatures: ['a', 'b', 'a'] })).toThrow(/binary/);
    expect(() => fairnessSummary({ yTrue: ['y', 'n'] as Label[], yPred: ['y', 'n'], sensitiveFeatures: ['a', 'b'] })).toThrow(/posLabel/);
    expect(() => fairnessSummary({ yTrue: [1, 0], yPred: [1, 0], sensitiveFeatures: ['a', 'b'], sampleWeight: [1, -1] })).toThrow(/sample_weight\[1\]/);
    expect(() => fairnessSummary({ yTrue: [1, 0], yPred: [1, 0], sensitiveFeatures: ['a', null as unknown as string] })).toThrow(/missing/);
    expect(() => new MetricFrame({ metrics: accuracy, yTrue: [1], yPred: [1], sensitiveFeatures: ['a'] }).difference('nope' as 'to_overall')).toThrow(/method/);
  });
});

describe('AIF360 conventions', () => {
  it.each(fx.aif360.map((c: { name: string }) => [c.name, c]))('%s', (_n, c) => {
    const i = c.input;
    const r = aif360Metrics({ yTrue: i.y_true, yPred: i.y_pred, protectedAttribute: i.protected, privileged: i.privileged, sampleWeight: i.sample_weight });
    for (const k of ['disparate_impact', 'statistical_parity_difference', 'equal_opportunity_difference', 'average_odds_difference', 'theil_index']) {
      close((r as unknown as Record<string, number>)[k]!, c.expected[k]);
    }
    expect(r.four_fifths_rule.passes).toBe(c.expected.disparate_impact >= 0.8);
    const rw = reweighing(i.y_true, i.protected.map((p: number) => p === i.privileged), i.sample_weight);
    rw.weights.forEach((w, k) => expect(w).toBeCloseTo(c.expected.reweighing_binary_groups[k], 10));
  });

  it('reweighing makes label and group independent under the new weights', () => {
    const y = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0];
    const g = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'b'];
    const { weights, table } = reweighing(y, g);
    const rate = (grp: string) => {
      let pos = 0, tot = 0;
      g.forEach((x, i) => { if (x === grp) { tot += weights[i]!; if (y[i]) pos += weights[i]!; } });
      return pos / tot;
    };
    expect(rate('a')).toBeCloseTo(rate('b'), 12);
    expect(table.find((t) => t.group === 'a' && t.label === '1')!.weight).toBeCloseTo((4 * 4) / (10 * 3), 12);
  });

  it('the 4/5 rule flags a disparate impact below 0.8', () => {
    const r = aif360Metrics({ yTrue: [1, 1, 1, 1, 1, 1, 1, 1], yPred: [1, 1, 1, 1, 1, 1, 0, 0], protectedAttribute: ['p', 'p', 'p', 'p', 'u', 'u', 'u', 'u'], privileged: 'p' });
    expect(r.disparate_impact).toBe(0.5);
    expect(r.four_fifths_rule.passes).toBe(false);
    expect(theilIndex([1, 0, 1, 0], [1, 0, 1, 0])).toBe(0);
    expect(() => aif360Metrics({ yTrue: [1], yPred: [1], protectedAttribute: ['p'], privileged: 'p' })).toThrow(/both groups/);
  });
});

describe('bootstrap intervals', () => {
  it('are seeded, contain the estimate, and shrink with more data', () => {
    const make = (n: number) => {
      const yTrue = Array.from({ length: n }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
      const yPred = Array.from({ length: n }, (_, i) => (i * 5) % 4 === 0 ? 1 : 0);
      const sf = Array.from({ length: n }, (_, i) => (i % 2 ? 'a' : 'b'));
      return (rows: number[]) => demographicParityDifference({ yTrue: rows.map((r) => yTrue[r]!), yPred: rows.map((r) => yPred[r]!), sensitiveFeatures: rows.map((r) => sf[r]!) });
    };
    const a = bootstrapInterval(200, make(200), { seed: 1, iterations: 300 });
    const b = bootstrapInterval(200, make(200), { seed: 1, iterations: 300 });
    expect(a).toEqual(b);
    expect(a.low).toBeLessThanOrEqual(a.estimate);
    expect(a.high).toBeGreaterThanOrEqual(a.estimate);
    const big = bootstrapInterval(2000, make(2000), { seed: 1, iterations: 300 });
    expect(big.high - big.low).toBeLessThan((a.high - a.low) * 0.6);
    expect(() => bootstrapInterval(10, () => 1, { level: 2 })).toThrow(InvalidArgumentError);
  });
});
