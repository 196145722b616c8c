import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { ArrayDataset } from '../array-dataset.js';

export interface CsvOptions {
  /** Field separator (default ","). */
  delimiter?: string;
  /** First row holds column names (default true). */
  header?: boolean;
}

export interface CsvTable {
  columns: string[];
  rows: string[][];
}

/**
 * RFC 4180 CSV parser that takes text in arbitrary chunks (so streams work): quoted fields may hold
 * delimiters, newlines and doubled quotes; \r\n and \n both end rows; blank lines are skipped.
 */
export class CsvParser {
  private field = '';
  private row: string[] = [];
  private inQuotes = false;
  private quotePending = false;
  private quoted = false;
  private line = 1;
  private readonly delimiter: string;

  constructor(delimiter = ',') {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new InvalidArgumentError(`CsvParser: delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
    }
    this.delimiter = delimiter;
  }

  /** Feeds text; returns the rows completed by it. */
  push(chunk: string): string[][] {
    const rows: string[][] = [];
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (ch === '"') {
            this.field += '"';
            continue;
          }
          this.inQuotes = false; // the pending quote closed the field; handle ch below
        } else if (ch === '"') {
          this.quotePending = true;
          continue;
        } else {
          if (ch === '\n') this.line++;
          this.field += ch;
          continue;
        }
      }
      if (ch === this.delimiter) {
        this.endField();
      } else if (ch === '\n') {
        this.line++;
        this.endRow(rows);
      } else if (ch === '\r') {
        // part of \r\n; a bare \r outside quotes is dropped
      } else if (ch === '"' && this.field === '' && !this.quoted) {
        this.inQuotes = true;
        this.quoted = true;
      } else if (this.quoted) {
        throw new FormatError('csv', `line ${this.line}: text after a closing quote (${JSON.stringify(ch)})`);
      } else {
        this.field += ch;
      }
    }
    return rows;
  }

  /** Ends the input; returns the last row if the text did not end with a newline. */
  end(): string[][] {
    if (this.inQuotes && !this.quotePending) throw new FormatError('csv', `line ${this.line}: a quoted field is never closed`);
    this.inQuotes = false;
    this.quotePending = false;
    const rows: string[][] = [];
    this.endRow(rows);
    return rows;
  }

  private endField(): void {
    this.row.push(this.field);
    this.field = '';
    this.quoted = false;
  }

  private endRow(rows: string[][]): void {
    if (this.row.length === 0 && this.field === '' && !this.quoted) return; // blank line
    this.endField();
    rows.push(this.row);
    this.row = [];
  }
}

function table(rows: string[][], options: CsvOptions, source: string): CsvTable {
  const header = options.header ?? true;
  const width = rows[0]?.length ?? 0;
  const columns = header ? (rows.shift() ?? []) : Array.from({ length: width }, (_, i) => `c${i}`);
  rows.forEach((r, i) => {
    if (r.length !== columns.length) throw new FormatError('csv', `${source} row ${i + 1 + (header ? 1 : 0)}: ${r.length} fields, expected ${columns.length}`);
  });
  return { columns, rows };
}

export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  const p = new CsvParser(options.delimiter);
  return table([...p.push(text), ...p.end()], options, 'input');
}

export async function loadCsv(path: string, options: CsvOptions = {}): Promise<CsvTable> {
  const p = new CsvParser(options.delimiter);
  return table([...p.push(await readFile(path, 'utf8')), ...p.end()], options, path);
}

/** Streams rows of a CSV file of any size as objects keyed by column name (or arrays without a header). */
export async function* streamCsv(path: string, options: CsvOptions = {}): AsyncGenerator<Record<string, string> | string[]> {
  const parser = new CsvParser(options.delimiter);
  const header = options.header ?? true;
  let columns: string[] | undefined;
  let n = 0;
  const emit = function* (rows: string[][]) {
    for (const r of rows) {
      n++;
      if (header && !columns) {
        columns = r;
        continue;
      }
      if (!columns) {
        yield r;
        continue;
      }
      if (r.length !== columns.length) throw new FormatError('csv', `${path} row ${n}: ${r.length} fields, expected ${columns.length}`);
      yield Object.fromEntries(columns.map((c, i) => [c, r[i]!]));
    }
  };
  for await (const chunk of createReadStream(path, { encoding: 'utf8' }) as AsyncIterable<string>) yield* emit(parser.push(chunk));
  yield* emit(parser.end());
}

/**
 * Numeric features (and an optional label column) of a table as an ArrayDataset. A string label
 * column becomes class ids in sorted order of the distinct values; `labelType: 'number'` keeps numbers.
 */
export function csvToDataset(t: CsvTable, options: { features?: string[]; label?: string; labelType?: 'class' | 'number' } = {}): ArrayDataset {
  const col = (name: string) => {
    const i = t.columns.indexOf(name);
    if (i < 0) throw new InvalidArgumentError(`csvToDataset: no column "${name}"; columns: ${t.columns.join(', ')}`);
    return i;
  };
  const labelIdx = options.label === undefined ? -1 : col(options.label);
  const featureIdx = (options.features ?? t.columns.filter((_, i) => i !== labelIdx)).map(col);
  const x = new Float32Array(t.rows.length * featureIdx.length);
  t.rows.forEach((r, i) => {
    featureIdx.forEach((c, j) => {
      const v = r[c]!.trim() === '' ? Number.NaN : Number(r[c]);
      if (Number.isNaN(v)) throw new FormatError('csv', `row ${i + 1}, column "${t.columns[c]}": ${JSON.stringify(r[c])} is not a number`);
      x[i * featureIdx.length + j] = v;
    });
  });
  if (labelIdx < 0) return new ArrayDataset({ x, shape: [featureIdx.length] });
  if (options.labelType === 'number') {
    const y = Float32Array.from(t.rows, (r, i) => {
      const v = Number(r[labelIdx]);
      if (r[labelIdx]!.trim() === '' || Number.isNaN(v)) throw new FormatError('csv', `row ${i + 1}: label ${JSON.stringify(r[labelIdx])} is not a number`);
      return v;
    });
    return new ArrayDataset({ x, shape: [featureIdx.length], y });
  }
  const classes = [...new Set(t.rows.map((r) => r[labelIdx]!))].sort();
  const id = new Map(classes.map((c, i) => [c, i]));
  return new ArrayDataset({ x, shape: [featureIdx.length], y: Int32Array.from(t.rows, (r) => id.get(r[labelIdx]!)!), classes });
}
