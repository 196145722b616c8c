import { InvalidArgumentError, Rng } from '@nutshell/core';
import { unitHash } from './hash.js';

/** Named fractions that sum to 1, e.g. `{ train: 0.8, test: 0.2 }`. */
export type SplitFractions = Readonly<Record<string, number>>;

export const DEFAULT_SPLIT_SEED = 0;

function entries(fractions: SplitFractions): [string, number][] {
  const list = Object.entries(fractions ?? {});
  if (list.length === 0) throw new InvalidArgumentError('split: give at least one named fraction, e.g. { train: 0.8, test: 0.2 }');
  let sum = 0;
  for (const [name, f] of list) {
    if (typeof f !== 'number' || !(f > 0) || f > 1) throw new InvalidArgumentError(`split: fraction "${name}" must be in (0, 1], got ${String(f)}`);
    sum += f;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new InvalidArgumentError(`split: fractions must sum to 1, got ${sum} (${JSON.stringify(fractions)})`);
  return list;
}

/** Cuts `order` into consecutive pieces; piece k ends at round(cumulative fraction × n). */
function cut(order: ArrayLike<number>, list: [string, number][]): Record<string, number[]> {
  const n = order.length;
  const out: Record<string, number[]> = {};
  let start = 0;
  let cum = 0;
  list.forEach(([name, f], k) => {
    cum += f;
    const end = k === list.length - 1 ? n : Math.round(cum * n);
    out[name] = Array.prototype.slice.call(order, start, end) as number[];
    start = end;
  });
  return out;
}

function sorted(groups: Record<string, number[]>): Record<string, Int32Array> {
  const out: Record<string, Int32Array> = {};
  for (const [name, idx] of Object.entries(groups)) out[name] = Int32Array.from(idx).sort();
  return out;
}

/**
 * Random split of 0..n-1: a seeded permutation (core `Rng`) cut at the cumulative fractions.
 * Indices come back sorted ascending; same (n, fractions, seed) → same split.
 */
export function splitIndices(n: number, fractions: SplitFractions, seed: number | string = DEFAULT_SPLIT_SEED): Record<string, Int32Array> {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`splitIndices: n must be a non-negative integer, got ${n}`);
  return sorted(cut(new Rng(seed).fork('split').permutation(n), entries(fractions)));
}

/**
 * Split that keeps class proportions: each class is permuted and cut on its own (stream forked by
 * class id), then the pieces are merged.
 */
export function stratifiedSplitIndices(
  labels: ArrayLike<number>,
  fractions: SplitFractions,
  seed: number | string = DEFAULT_SPLIT_SEED,
): Record<string, Int32Array> {
  const list = entries(fractions);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    let bucket = byClass.get(c);
    if (!bucket) byClass.set(c, (bucket = []));
    bucket.push(i);
  }
  const groups: Record<string, number[]> = Object.fromEntries(list.map(([name]) => [name, []]));
  const rng = new Rng(seed).fork('stratified');
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(c)!;
    rng.fork(c).shuffle(members);
    for (const [name, idx] of Object.entries(cut(members, list))) groups[name]!.push(...idx);
  }
  return sorted(groups);
}

/**
 * Which split a key belongs to, decided by a hash of (seed, key) alone: stable when records are
 * added, removed or reordered, and every record with the same key lands in the same split.
 */
export function assignSplit(key: string, fractions: SplitFractions, seed: number | string = DEFAULT_SPLIT_SEED): string {
  const list = entries(fractions);
  const u = unitHash(key, seed);
  let cum = 0;
  for (const [name, f] of list) {
    cum += f;
    if (u < cum) return name;
  }
  return list[list.length - 1]![0];
}

/** Hash split of items by a key; indices sorted ascending. Proportions are met in expectation. */
export function hashSplitIndices(
  count: number,
  keyOf: (index: number) => string,
  fractions: SplitFractions,
  seed: number | string = DEFAULT_SPLIT_SEED,
): Record<string, Int32Array> {
  const list = entries(fractions);
  const groups: Record<string, number[]> = Object.fromEntries(list.map(([name]) => [name, []]));
  for (let i = 0; i < count; i++) groups[assignSplit(keyOf(i), fractions, seed)]!.push(i);
  return sorted(groups);
}
