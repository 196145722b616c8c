import type { CommandOption } from '@nutshell/core';
import { InvalidArgumentError } from '@nutshell/core';
import { UsageError } from './usage-error.js';

export type OptionValues = Record<string, string | number | boolean | string[] | number[] | undefined>;

export interface ParsedArgs {
  args: string[];
  options: OptionValues;
}

/**
 * Parses `--name value`, `--name=value`, `--flag`, `--no-flag`, `-x value` and `--` against a list
 * of known options; options marked `multiple` may repeat and collect into an array. Unknown options and missing values are usage errors (exit 2); a value of the
 * wrong type is bad input (exit 1). Only options that were given appear in the result.
 */
export function parseArgs(argv: readonly string[], known: readonly CommandOption[]): ParsedArgs {
  const byName = new Map(known.map((o) => [o.name, o]));
  const byShort = new Map(known.filter((o) => o.short).map((o) => [o.short!, o]));
  const args: string[] = [];
  const options: OptionValues = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-' || /^-\d/.test(token)) {
      args.push(token);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    let option: CommandOption | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      name = eq >= 0 ? token.slice(2, eq) : token.slice(2);
      inline = eq >= 0 ? token.slice(eq + 1) : undefined;
      option = byName.get(name);
      if (!option && name.startsWith('no-') && inline === undefined) {
        const negated = byName.get(name.slice(3));
        if (negated?.type === 'boolean') {
          options[negated.name] = false;
          continue;
        }
      }
      if (!option) throw new UsageError(`unknown option --${name}${suggest(name, [...byName.keys()])}`);
    } else {
      name = token.slice(1);
      option = byShort.get(name);
      if (!option) throw new UsageError(`unknown option -${name}`);
    }
    if (option.type === 'boolean') {
      options[option.name] = inline === undefined ? true : parseBoolean(option.name, inline);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`option --${option.name} needs a value`);
      }
      raw = next;
      i++;
    }
    const value = option.type === 'number' ? parseNumber(option.name, raw) : raw;
    if (option.multiple) {
      // repeated options collect in order: --ref a.txt --ref b.txt
      const list = (options[option.name] ?? []) as (string | number)[];
      options[option.name] = [...list, value] as string[] | number[];
    } else {
      options[option.name] = value;
    }
  }
  return { args, options };
}

function parseBoolean(name: string, raw: string): boolean {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InvalidArgumentError(`option --${name}: expected true or false, got ${JSON.stringify(raw)}`);
}

function parseNumber(name: string, raw: string): number {
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`option --${name}: expected a number, got ${JSON.stringify(raw)}`);
  return value;
}

/** ", did you mean --x?" when one known name is close. */
export function suggest(name: string, candidates: readonly string[], prefix = '--'): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? `; did you mean ${prefix}${best}?` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
