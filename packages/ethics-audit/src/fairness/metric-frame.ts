import { InvalidArgumentError, describe } from '@nutshell/core';
import { checkLengths, checkWeights, type Label } from './labels.js';
import type { MetricFunction } from './metrics.js';

/** One sensitive feature (a column of group values) or several named ones (groups are their combinations). */
export type SensitiveFeatures = readonly (string | number | boolean)[] | Readonly<Record<string, readonly (string | number | boolean)[]>>;

export type AggregationMethod = 'between_groups' | 'to_overall';

export interface MetricFrameInput {
  /** One metric function, or several by name. */
  metrics: MetricFunction | Readonly<Record<string, MetricFunction>>;
  yTrue: readonly Label[];
  yPred: readonly Label[];
  sensitiveFeatures: SensitiveFeatures;
  sampleWeight?: readonly number[];
}

/**
 * Group keys per row. With several features the key is the values joined by ", " in the order the
 * features were given (fairlearn makes a tuple).
 */
export function groupKeys(name: string, sensitive: SensitiveFeatures, n: number): string[] {
  if (Array.isArray(sensitive)) {
    checkLengths(name, n, { sensitive_features: sensitive });
    return (sensitive as readonly unknown[]).map((v, i) => {
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
        throw new InvalidArgumentError(`${name}: sensitive_features[${i}] is missing (${describe(v)})`);
      }
      return String(v);
    });
  }
  if (!sensitive || typeof sensitive !== 'object') throw new InvalidArgumentError(`${name}: sensitive_features must be an array or a record of arrays, got ${describe(sensitive)}`);
  const cols = Object.entries(sensitive as Record<string, readonly unknown[]>);
  if (cols.length === 0) throw new InvalidArgumentError(`${name}: sensitive_features has no columns`);
  for (const [k, col] of cols) checkLengths(name, n, { [`sensitive_features.${k}`]: col });
  return Array.from({ length: n }, (_, i) => cols.map(([, col]) => String(col[i])).join(', '));
}

/** Distinct groups in sorted order (numbers numerically, like pandas' groupby). */
export function sortedGroups(keys: readonly string[]): string[] {
  const uniq = [...new Set(keys)];
  const numeric = uniq.every((k) => k.trim() !== '' && Number.isFinite(Number(k)));
  return numeric ? uniq.sort((a, b) => Number(a) - Number(b)) : uniq.sort();
}

/**
 * fairlearn's MetricFrame: every metric overall and per group, with the group extremes and the
 * between-group (or to-overall) difference and ratio.
 */
export class MetricFrame {
  readonly metricNames: string[];
  readonly groups: string[];
  /** metric → value on all rows. */
  readonly overall: Record<string, number>;
  /** group → metric → value. */
  readonly byGroup: Record<string, Record<string, number>>;
  /** group → number of rows. */
  readonly groupCounts: Record<string, number>;

  constructor(input: MetricFrameInput) {
    const { yTrue, yPred, sampleWeight } = input;
    if (!Array.isArray(yTrue)) throw new InvalidArgumentError(`MetricFrame: y_true must be an array, got ${describe(yTrue)}`);
    if (yTrue.length === 0) throw new InvalidArgumentError('MetricFrame: y_true is empty');
    checkLengths('MetricFrame', yTrue.length, { y_pred: yPred, sample_weight: sampleWeight });
    checkWeights('MetricFrame', sampleWeight);
    const metrics: Record<string, MetricFunction> =
      typeof input.metrics === 'function' ? { [input.metrics.name || 'metric']: input.metrics } : { ...input.metrics };
    this.metricNames = Object.keys(metrics);
    if (this.metricNames.length === 0) throw new InvalidArgumentError('MetricFrame: give at least one metric');
    for (const [k, f] of Object.entries(metrics)) {
      if (typeof f !== 'function') throw new InvalidArgumentError(`MetricFrame: metric ${k} must be a function, got ${describe(f)}`);
    }
    const keys = groupKeys('MetricFrame', input.sensitiveFeatures, yTrue.length);
    this.groups = sortedGroups(keys);
    this.overall = {};
    for (const m of this.metricNames) this.overall[m] = metrics[m]!(yTrue, yPred, sampleWeight);
    this.byGroup = {};
    this.groupCounts = {};
    const rows = new Map<string, number[]>();
    keys.forEach((k, i) => {
      let r = rows.get(k);
      if (!r) rows.set(k, (r = []));
      r.push(i);
    });
    for (const g of this.groups) {
      const idx = rows.get(g)!;
      const t = idx.map((i) => yTrue[i]!);
      const p = idx.map((i) => yPred[i]!);
      const w = sampleWeight ? idx.map((i) => sampleWeight[i]!) : undefined;
      this.groupCounts[g] = idx.length;
      this.byGroup[g] = {};
      for (const m of this.metricNames) this.byGroup[g]![m] = metrics[m]!(t, p, w);
    }
  }

  private column(metric: string): number[] {
    if (!this.metricNames.includes(metric)) throw new InvalidArgumentError(`MetricFrame: no metric "${metric}"; metrics: ${this.metricNames.join(', ')}`);
    return this.groups.map((g) => this.byGroup[g]![metric]!);
  }

  private perMetric(f: (m: string) => number): Record<string, number> {
    return Object.fromEntries(this.metricNames.map((m) => [m, f(m)]));
  }

  groupMin(): Record<string, number> {
    return this.perMetric((m) => Math.min(...this.column(m)));
  }

  groupMax(): Record<string, number> {
    return this.perMetric((m) => Math.max(...this.column(m)));
  }

  /** max − min over groups, or the largest |group − overall|. */
  difference(method: AggregationMethod = 'between_groups'): Record<string, number> {
    checkMethod(method);
    return this.perMetric((m) => {
      const col = this.column(m);
      if (method === 'between_groups') return Math.max(...col) - Math.min(...col);
      return Math.max(...col.map((v) => Math.abs(v - this.overall[m]!)));
    });
  }

  /** min / max over groups, or the smallest of group/overall and overall/group. 0/0 is NaN. */
  ratio(method: AggregationMethod = 'between_groups'): Record<string, number> {
    checkMethod(method);
    return this.perMetric((m) => {
      const col = this.column(m);
      if (method === 'between_groups') return Math.min(...col) / Math.max(...col);
      const o = this.overall[m]!;
      return Math.min(...col.map((v) => {
        const r = v / o;
        return r > 1 ? 1 / r : r;
      }));
    });
  }

  toJSON(): Record<string, unknown> {
    return { overall: this.overall, by_group: this.byGroup, counts: this.groupCounts };
  }
}

function checkMethod(method: string): void {
  if (method !== 'between_groups' && method !== 'to_overall') {
    throw new InvalidArgumentError(`MetricFrame: method must be "between_groups" or "to_overall", got ${describe(method)}`);
  }
}
