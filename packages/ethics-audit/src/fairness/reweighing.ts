import { InvalidArgumentError } from '@nutshell/core';
import { checkLengths, checkWeights, normLabel, type Label } from './labels.js';

export interface ReweighingResult {
  /** New instance weight per row: original weight × W(group, label). */
  weights: number[];
  /** W(group, label) = P(group)·P(label) / P(group, label), from weighted counts. */
  table: { group: string; label: string; weight: number; count: number }[];
}

/**
 * Reweighing (Kamiran & Calders 2012, as in AIF360): weights that make the label statistically
 * independent of the group. AIF360 does it for privileged/unprivileged × favorable/unfavorable; this
 * does it for every (group, label) cell, which is the same in the binary case.
 */
export function reweighing(labels: readonly Label[], groups: readonly (string | number | boolean)[], sampleWeight?: readonly number[]): ReweighingResult {
  checkLengths('reweighing', labels.length, { groups, sample_weight: sampleWeight });
  checkWeights('reweighing', sampleWeight);
  if (labels.length === 0) throw new InvalidArgumentError('reweighing: no rows');
  const w = (i: number) => (sampleWeight ? sampleWeight[i]! : 1);
  const byG = new Map<string, number>(), byY = new Map<string, number>(), byGY = new Map<string, { g: string; y: string; w: number; n: number }>();
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const g = String(groups[i]), y = normLabel(labels[i]!), wi = w(i);
    total += wi;
    byG.set(g, (byG.get(g) ?? 0) + wi);
    byY.set(y, (byY.get(y) ?? 0) + wi);
    const key = JSON.stringify([g, y]);
    const cell = byGY.get(key) ?? { g, y, w: 0, n: 0 };
    cell.w += wi;
    cell.n += 1;
    byGY.set(key, cell);
  }
  const factor = new Map<string, number>();
  for (const [key, c] of byGY) factor.set(key, c.w === 0 ? 0 : (byG.get(c.g)! * byY.get(c.y)!) / (total * c.w));
  const weights = labels.map((y, i) => w(i) * factor.get(JSON.stringify([String(groups[i]), normLabel(y)]))!);
  const table = [...byGY.entries()].map(([key, c]) => ({ group: c.g, label: c.y, weight: factor.get(key)!, count: c.n }))
    .sort((a, b) => (a.group === b.group ? a.label.localeCompare(b.label) : a.group.localeCompare(b.group)));
  return { weights, table };
}
