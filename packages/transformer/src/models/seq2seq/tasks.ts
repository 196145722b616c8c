import { InvalidArgumentError, Rng, describe, rngFor } from '@nutshell/core';

export type ToyTask = 'copy' | 'reverse' | 'sort';
export const TOY_TASKS: readonly ToyTask[] = ['copy', 'reverse', 'sort'];

export interface TextPair {
  /** Input text with its task prefix, e.g. "reverse: 3141". */
  source: string;
  target: string;
  task?: string;
}

/** The text-to-text form of a toy task on a digit string: "<task>: <digits>" → the answer. */
export function toyTaskPair(task: ToyTask, digits: string): TextPair {
  if (!TOY_TASKS.includes(task)) throw new InvalidArgumentError(`toyTaskPair: task must be one of ${TOY_TASKS.join(', ')}, got ${describe(task)}`);
  const chars = Array.from(digits);
  const target = task === 'copy' ? digits : task === 'reverse' ? chars.reverse().join('') : chars.sort().join('');
  return { source: `${task}: ${digits}`, target, task };
}

export interface ToyTaskOptions {
  tasks?: readonly ToyTask[];
  /** Examples to draw (spread evenly over the tasks). */
  n: number;
  minLength?: number;
  maxLength?: number;
  /** Digits to draw from (default 0–9). */
  alphabet?: string;
  seed?: number | string | Rng;
  /** Strings to leave out (e.g. the training set, to build a held-out set). */
  exclude?: ReadonlySet<string>;
}

/** Random digit strings for the toy tasks, as prefixed text pairs (tasks round-robin). */
export function toyTaskData(options: ToyTaskOptions): TextPair[] {
  const tasks = options.tasks ?? TOY_TASKS;
  const minL = options.minLength ?? 2;
  const maxL = options.maxLength ?? 5;
  const alphabet = Array.from(options.alphabet ?? '0123456789');
  if (!Number.isInteger(options.n) || options.n < 1) throw new InvalidArgumentError(`toyTaskData: n must be a positive integer, got ${describe(options.n)}`);
  if (!Number.isInteger(minL) || minL < 1 || !Number.isInteger(maxL) || maxL < minL) throw new InvalidArgumentError(`toyTaskData: need 1 ≤ minLength ≤ maxLength, got ${minL}, ${maxL}`);
  const rng = rngFor(options.seed);
  const out: TextPair[] = [];
  let guard = 0;
  while (out.length < options.n) {
    if (++guard > options.n * 100) throw new InvalidArgumentError('toyTaskData: could not draw enough strings outside `exclude`');
    const len = minL + rng.int(maxL - minL + 1);
    const digits = Array.from({ length: len }, () => alphabet[rng.int(alphabet.length)]!).join('');
    if (options.exclude?.has(digits)) continue;
    out.push(toyTaskPair(tasks[out.length % tasks.length]!, digits));
  }
  return out;
}
