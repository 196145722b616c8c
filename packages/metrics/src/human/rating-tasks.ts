import { InvalidArgumentError, rngFor, type Rng } from '@nutshell/core';
import { normalQuantile, type PairwiseOutcome } from './pairwise.js';

/** Summary of Likert ratings on an integer scale [lo, hi]. */
export function likertSummary(ratings: readonly number[], options: { scale?: readonly [number, number]; topBox?: number } = {}): {
  n: number; mean: number; sd: number; median: number; counts: Record<number, number>; topBoxShare: number;
} {
  const [lo, hi] = options.scale ?? [1, 5];
  if (ratings.length === 0) throw new InvalidArgumentError('likertSummary: no ratings');
  const counts: Record<number, number> = {};
  for (let v = lo; v <= hi; v++) counts[v] = 0;
  for (const r of ratings) {
    if (!Number.isInteger(r) || r < lo || r > hi) throw new InvalidArgumentError(`likertSummary: rating ${r} is not an integer in [${lo}, ${hi}]`);
    counts[r]! += 1;
  }
  const n = ratings.length;
  const mean = ratings.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(ratings.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const sorted = [...ratings].sort((a, b) => a - b);
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  // Top-box: share at or above `topBox` (default: the top two points of the scale).
  const top = options.topBox ?? hi - 1;
  return { n, mean, sd, median, counts, topBoxShare: ratings.filter((r) => r >= top).length / n };
}

/**
 * Comparisons needed to detect a win rate `p1` against `p0` (default 0.5) with a one-sample
 * binomial test, normal approximation: n = ((z_α·√(p0 q0) + z_β·√(p1 q1)) / (p1 − p0))², rounded up.
 */
export function pairwiseSampleSize(p1: number, options: { p0?: number; alpha?: number; power?: number; twoSided?: boolean } = {}): number {
  const p0 = options.p0 ?? 0.5;
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  if (!(p1 > 0 && p1 < 1 && p0 > 0 && p0 < 1 && p1 !== p0)) throw new InvalidArgumentError(`pairwiseSampleSize: need 0 < p0 ≠ p1 < 1, got p0 ${p0}, p1 ${p1}`);
  const za = normalQuantile(1 - alpha / ((options.twoSided ?? true) ? 2 : 1));
  const zb = normalQuantile(power);
  return Math.ceil(((za * Math.sqrt(p0 * (1 - p0)) + zb * Math.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2);
}

export interface ComparisonItem {
  id: string;
  prompt?: string;
  /** System name → its output for this item (two or more systems). */
  outputs: Record<string, string>;
}

/** What raters see: no system names, outputs in a seeded random order labelled A, B, … */
export interface BlindedTask {
  format: 'nutshell-rating-task/1';
  items: { id: string; prompt?: string; options: { label: string; text: string }[] }[];
}

/** Kept away from raters: which system each label is, per item. */
export interface TaskKey {
  format: 'nutshell-rating-key/1';
  items: Record<string, Record<string, string>>;
}

/**
 * Blinded, order-randomized rating task (JSON-serializable) and its separate key: items are shuffled,
 * and each item's outputs are shuffled and labelled A, B, … with a seeded Rng.
 */
export function createRatingTask(items: readonly ComparisonItem[], options: { seed?: number | string | Rng; shuffleItems?: boolean } = {}): { task: BlindedTask; key: TaskKey } {
  const rng = rngFor(options.seed ?? 0);
  const shuffle = <T>(xs: T[]) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  const ids = new Set<string>();
  const order = (options.shuffleItems ?? true) ? shuffle([...items]) : [...items];
  const key: TaskKey = { format: 'nutshell-rating-key/1', items: {} };
  const task: BlindedTask = {
    format: 'nutshell-rating-task/1',
    items: order.map((item) => {
      if (ids.has(item.id)) throw new InvalidArgumentError(`createRatingTask: duplicate item id ${JSON.stringify(item.id)}`);
      ids.add(item.id);
      const systems = shuffle(Object.keys(item.outputs).sort());
      if (systems.length < 2) throw new InvalidArgumentError(`createRatingTask: item ${item.id} needs at least two outputs`);
      const labels = systems.map((_, i) => String.fromCharCode(65 + i));
      key.items[item.id] = Object.fromEntries(labels.map((l, i) => [l, systems[i]!]));
      return { id: item.id, ...(item.prompt !== undefined ? { prompt: item.prompt } : {}), options: labels.map((label, i) => ({ label, text: item.outputs[systems[i]!]! })) };
    }),
  };
  return { task, key };
}

/**
 * Un-blinds rater choices: each response names the preferred label ('tie' allowed, pairs only) and
 * becomes pairwise outcomes (the chosen system beats every other option of the item).
 */
export function importRatings(key: TaskKey, responses: readonly { id: string; choice: string }[]): PairwiseOutcome[] {
  if (key?.format !== 'nutshell-rating-key/1') throw new InvalidArgumentError('importRatings: not a nutshell rating key');
  const out: PairwiseOutcome[] = [];
  for (const r of responses) {
    const map = key.items[r.id];
    if (!map) throw new InvalidArgumentError(`importRatings: unknown item ${JSON.stringify(r.id)}`);
    const labels = Object.keys(map).sort();
    if (r.choice === 'tie') {
      if (labels.length !== 2) throw new InvalidArgumentError(`importRatings: 'tie' is only defined for two options (item ${r.id})`);
      out.push({ a: map[labels[0]!]!, b: map[labels[1]!]!, winner: 'tie' });
      continue;
    }
    const winner = map[r.choice];
    if (!winner) throw new InvalidArgumentError(`importRatings: item ${r.id} has no option ${JSON.stringify(r.choice)}`);
    for (const l of labels) if (l !== r.choice) out.push({ a: winner, b: map[l]!, winner: 'a' });
  }
  return out;
}
