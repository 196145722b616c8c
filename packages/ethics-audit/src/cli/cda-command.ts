import { readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError, describe, type CommandInput } from '@nutshell/core';
import { counterfactualAugment, type WordPairs } from '../fairness/cda.js';
import { readTextList, writeTextList } from './text-list.js';

function readPairs(path: unknown): WordPairs {
  if (typeof path !== 'string') throw new InvalidArgumentError(`--pairs: give a JSON file of [first, second] pairs, got ${describe(path)}`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new FormatError('json', `${path}: ${err.message}`);
    throw new InvalidArgumentError(`--pairs: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || !v.every((p) => Array.isArray(p) && p.length === 2 && p.every((w) => typeof w === 'string' && w))) {
    throw new FormatError('json', `${path}: expected an array of [first, second] word pairs`);
  }
  return v as [string, string][];
}

/** `audit cda --in FILE --out FILE`: counterfactual data augmentation of a text corpus. */
export function cdaCommand(input: CommandInput): unknown {
  const { options: o, print } = input;
  if (typeof o.out !== 'string' || !o.out) throw new InvalidArgumentError('cda: --out FILE is required (.jsonl, .json or one text per line)');
  const mode = String(o.mode ?? 'duplicate');
  if (mode !== 'duplicate' && mode !== 'substitute') throw new InvalidArgumentError(`--mode: expected duplicate or substitute, got ${describe(o.mode)}`);
  const direction = String(o.direction ?? 'both');
  if (!['both', 'to-second', 'to-first'].includes(direction)) throw new InvalidArgumentError(`--direction: expected both, to-second or to-first, got ${describe(o.direction)}`);
  const texts = readTextList(o.in, '--in', 'lines');
  const r = counterfactualAugment(texts, {
    mode, direction: direction as 'both', names: o.names === true,
    probability: o.probability as number | undefined, seed: o.seed as number | undefined,
    ...(o.pairs !== undefined ? { pairs: readPairs(o.pairs) } : {}),
  });
  writeTextList(o.out, r.texts, r.source.map((s) => ({ source: s.index, counterfactual: s.counterfactual })));
  print(`${r.changed} of ${texts.length} texts had swappable words (${r.swaps} swaps); wrote ${r.texts.length} texts to ${o.out}`);
  return { out: o.out, mode, texts: texts.length, written: r.texts.length, changed: r.changed, swaps: r.swaps };
}
