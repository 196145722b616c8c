import { readFile } from 'node:fs/promises';
import { FormatError } from '@nutshell/core';
import { RecordDataset } from '../record-dataset.js';
import { readLines } from './stream.js';

function parseLine<T>(line: string, where: string): T {
  try {
    return JSON.parse(line) as T;
  } catch (e) {
    throw new FormatError('jsonl', `${where}: ${(e as Error).message}`);
  }
}

/** Parses JSON Lines text (blank lines skipped); errors name the line number. */
export function parseJsonl<T = unknown>(text: string, source = 'input'): T[] {
  const out: T[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim()) out.push(parseLine<T>(line, `${source} line ${i + 1}`));
  });
  return out;
}

/** Loads a JSON Lines file into memory. */
export async function loadJsonl<T = unknown>(path: string): Promise<RecordDataset<T>> {
  return new RecordDataset(parseJsonl<T>(await readFile(path, 'utf8'), path));
}

/** Streams the records of a JSON Lines file of any size. */
export async function* streamJsonl<T = unknown>(path: string): AsyncGenerator<T> {
  let n = 0;
  for await (const line of readLines(path)) {
    n++;
    if (line.trim()) yield parseLine<T>(line, `${path} line ${n}`);
  }
}
