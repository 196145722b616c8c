import { readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { writeFileAtomic } from './atomic.js';

export type TextListFormat = 'json' | 'jsonl' | 'text' | 'lines';

function read(path: unknown, what: string): string {
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError(`${what}: give a file path`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

function textOf(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { text?: unknown }).text === 'string') return (v as { text: string }).text;
  throw new FormatError('json', `${where}: expected a string or an object with a "text" string`);
}

/** The format of a texts file from its extension: .json, .jsonl/.ndjson, else plain text. */
export function textListFormat(path: string, plain: 'text' | 'lines'): TextListFormat {
  const p = path.toLowerCase();
  return p.endsWith('.jsonl') || p.endsWith('.ndjson') ? 'jsonl' : p.endsWith('.json') ? 'json' : plain;
}

/**
 * Reads a list of texts: .json (an array of strings or {text} objects, or {"texts": [...]}), .jsonl (one
 * string or {text} object per line), or plain text — one text for the whole file (`plain: 'text'`) or one
 * per non-empty line (`plain: 'lines'`).
 */
export function readTextList(path: unknown, what: string, plain: 'text' | 'lines'): string[] {
  const raw = read(path, what);
  const format = textListFormat(path as string, plain);
  if (format === 'json') {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new FormatError('json', `${path}: ${(err as Error).message}`);
    }
    const list = Array.isArray(v) ? v : v && typeof v === 'object' && Array.isArray((v as { texts?: unknown }).texts) ? (v as { texts: unknown[] }).texts : null;
    if (!list) throw new FormatError('json', `${path}: expected an array of texts or {"texts": [...]}`);
    return list.map((x, i) => textOf(x, `${path} item ${i}`));
  }
  if (format === 'jsonl') {
    return raw.split('\n').map((l, i) => [l, i] as const).filter(([l]) => l.trim()).map(([l, i]) => {
      try {
        return textOf(JSON.parse(l), `${path} line ${i + 1}`);
      } catch (err) {
        if (err instanceof FormatError) throw err;
        throw new FormatError('jsonl', `${path} line ${i + 1}: ${(err as Error).message}`);
      }
    });
  }
  if (format === 'lines') return raw.split(/\r?\n/).filter((l) => l.trim());
  return [raw];
}

/** Writes texts atomically in the format the extension names (.json array, .jsonl records, else one per line). */
export function writeTextList(path: string, texts: readonly string[], records?: readonly Record<string, unknown>[]): void {
  const format = textListFormat(path, 'lines');
  let out: string;
  if (format === 'json') out = `${JSON.stringify(texts, null, 2)}\n`;
  else if (format === 'jsonl') out = texts.map((t, i) => JSON.stringify({ text: t, ...(records?.[i] ?? {}) })).join('\n') + (texts.length ? '\n' : '');
  else {
    const bad = texts.findIndex((t) => /[\r\n]/.test(t));
    if (bad >= 0) throw new InvalidArgumentError(`--out: text ${bad} contains a line break; write .jsonl or .json instead of one text per line`);
    out = texts.join('\n') + (texts.length ? '\n' : '');
  }
  writeFileAtomic(path, out);
}
