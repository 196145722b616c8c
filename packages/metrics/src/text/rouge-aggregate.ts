import { InvalidArgumentError, rngFor } from '@nutshell/core';
import { bootstrapMeans, type BootstrapOptions } from '../stats/bootstrap.js';
import { rouge, type RougeOptions, type RougeScore } from './rouge.js';

export interface RougeAggregate {
  low: RougeScore;
  mid: RougeScore;
  high: RougeScore;
  /** Plain mean over examples. */
  mean: RougeScore;
}

/** Mean ROUGE over examples plus bootstrap intervals, like rouge-score's BootstrapAggregator (seeded). */
export function aggregateRouge(perExample: readonly Record<string, RougeScore>[], options: BootstrapOptions = {}): Record<string, RougeAggregate> {
  if (perExample.length === 0) throw new InvalidArgumentError('aggregateRouge: no examples');
  const out: Record<string, RougeAggregate> = {};
  const base = rngFor(options.seed);
  for (const type of Object.keys(perExample[0]!)) {
    const rows = perExample.map((s, i) => {
      const v = s[type];
      if (!v) throw new InvalidArgumentError(`aggregateRouge: example ${i} has no ${type}`);
      return [v.precision, v.recall, v.fmeasure];
    });
    const [p, r, f] = bootstrapMeans(rows, { ...options, seed: base.fork(type) });
    const mean = (j: number) => rows.reduce((a, row) => a + row[j]!, 0) / rows.length;
    out[type] = {
      low: { precision: p!.low, recall: r!.low, fmeasure: f!.low },
      mid: { precision: p!.mid, recall: r!.mid, fmeasure: f!.mid },
      high: { precision: p!.high, recall: r!.high, fmeasure: f!.high },
      mean: { precision: mean(0), recall: mean(1), fmeasure: mean(2) },
    };
  }
  return out;
}

/** Scores many (target, prediction) pairs; returns per-example scores and their means. */
export function rougeCorpus(
  pairs: readonly { target: string; prediction: string }[],
  options: RougeOptions = {},
): { perExample: Record<string, RougeScore>[]; mean: Record<string, RougeScore> } {
  if (!Array.isArray(pairs) || pairs.length === 0) throw new InvalidArgumentError('rougeCorpus: need at least one {target, prediction} pair');
  const perExample = pairs.map((p, i) => {
    if (!p || typeof p.target !== 'string' || typeof p.prediction !== 'string') {
      throw new InvalidArgumentError(`rougeCorpus: pair ${i} must be {target: string, prediction: string}`);
    }
    return rouge(p.target, p.prediction, options);
  });
  const mean: Record<string, RougeScore> = {};
  for (const type of Object.keys(perExample[0]!)) {
    const m = { precision: 0, recall: 0, fmeasure: 0 };
    for (const s of perExample) {
      m.precision += s[type]!.precision;
      m.recall += s[type]!.recall;
      m.fmeasure += s[type]!.fmeasure;
    }
    mean[type] = { precision: m.precision / perExample.length, recall: m.recall / perExample.length, fmeasure: m.fmeasure / perExample.length };
  }
  return { perExample, mean };
}
