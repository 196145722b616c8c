import { InvalidArgumentError } from '@nutshell/core';
import { porterStem } from './porter.js';

/** One ROUGE score, as rouge-score's `Score(precision, recall, fmeasure)`. */
export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeOptions {
  /** e.g. ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] (default: those four). */
  types?: readonly string[];
  /** Porter-stem tokens longer than 3 characters (rouge-score's `use_stemmer`). */
  stem?: boolean;
}

export const DEFAULT_ROUGE_TYPES = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const;

/**
 * rouge-score's DefaultTokenizer: lowercase, every run of characters outside [a-z0-9] becomes a
 * space, split, optionally stem words longer than 3 characters, keep only [a-z0-9]+ tokens.
 */
export function rougeTokenize(text: string, stem = false): string[] {
  const tokens = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/);
  const out: string[] = [];
  for (let t of tokens) {
    if (stem && t.length > 3) t = porterStem(t);
    if (/^[a-z0-9]+$/.test(t)) out.push(t);
  }
  return out;
}

const fmeasure = (p: number, r: number) => (p + r > 0 ? (2 * p * r) / (p + r) : 0);

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const k = tokens.slice(i, i + n).join(' ');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function scoreNgrams(target: readonly string[], prediction: readonly string[], n: number): RougeScore {
  const t = ngramCounts(target, n);
  const p = ngramCounts(prediction, n);
  let overlap = 0;
  for (const [k, c] of t) overlap += Math.min(c, p.get(k) ?? 0);
  const tCount = Math.max(0, target.length - n + 1);
  const pCount = Math.max(0, prediction.length - n + 1);
  const precision = overlap / Math.max(pCount, 1);
  const recall = overlap / Math.max(tCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** LCS dynamic-programming table, (rows+1)×(cols+1), row-major. */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array {
  const cols = can.length + 1;
  const t = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i * cols + j] = ref[i - 1] === can[j - 1] ? t[(i - 1) * cols + j - 1]! + 1 : Math.max(t[(i - 1) * cols + j]!, t[i * cols + j - 1]!);
    }
  }
  return t;
}

function scoreLcs(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const t = lcsTable(target, prediction);
  const lcs = t[t.length - 1]!;
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Indices into `ref` of one LCS, read back exactly as rouge-score's `_backtrack_norec`. */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const cols = can.length + 1;
  let i = ref.length;
  let j = can.length;
  const out: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i * cols + j - 1]! > t[(i - 1) * cols + j]!) j--;
    else i--;
  }
  return out.reverse();
}

/** Summary-level LCS (ROUGE-Lsum) with ROUGE-1.5.5's guard against double counting. */
function summaryLevelLcs(refSents: readonly string[][], canSents: readonly string[][]): RougeScore {
  const zero = { precision: 0, recall: 0, fmeasure: 0 };
  if (refSents.length === 0 || canSents.length === 0) return zero;
  const m = refSents.reduce((a, s) => a + s.length, 0);
  const n = canSents.reduce((a, s) => a + s.length, 0);
  if (!n || !m) return zero;
  const countR = new Map<string, number>();
  const countC = new Map<string, number>();
  for (const s of refSents) for (const tok of s) countR.set(tok, (countR.get(tok) ?? 0) + 1);
  for (const s of canSents) for (const tok of s) countC.set(tok, (countC.get(tok) ?? 0) + 1);
  let hits = 0;
  for (const r of refSents) {
    const union = new Set<number>();
    for (const c of canSents) for (const idx of lcsIndices(r, c)) union.add(idx);
    for (const idx of [...union].sort((a, b) => a - b)) {
      const tok = r[idx]!;
      if ((countC.get(tok) ?? 0) > 0 && (countR.get(tok) ?? 0) > 0) {
        hits++;
        countC.set(tok, countC.get(tok)! - 1);
        countR.set(tok, countR.get(tok)! - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function checkType(type: string): number | 'L' | 'Lsum' {
  if (type === 'rougeL') return 'L';
  if (type === 'rougeLsum') return 'Lsum';
  const m = /^rouge([0-9])$/.exec(type);
  if (!m || Number(m[1]) <= 0) {
    throw new InvalidArgumentError(`rouge: invalid type ${JSON.stringify(type)}; expected rouge1…rouge9, rougeL or rougeLsum`);
  }
  return Number(m[1]);
}

/**
 * ROUGE scores of one prediction against one target, as rouge-score's
 * `RougeScorer(types, use_stemmer).score(target, prediction)`. ROUGE-Lsum splits sentences on "\n".
 */
export function rouge(target: string, prediction: string, options: RougeOptions = {}): Record<string, RougeScore> {
  if (typeof target !== 'string' || typeof prediction !== 'string') {
    throw new InvalidArgumentError('rouge: target and prediction must be strings');
  }
  const types = options.types ?? DEFAULT_ROUGE_TYPES;
  const kinds = types.map(checkType);
  const stem = options.stem ?? false;
  const tt = rougeTokenize(target, stem);
  const pt = rougeTokenize(prediction, stem);
  const out: Record<string, RougeScore> = {};
  types.forEach((type, i) => {
    const kind = kinds[i]!;
    if (kind === 'L') out[type] = scoreLcs(tt, pt);
    else if (kind === 'Lsum') {
      const sents = (text: string) => text.split('\n').filter((s) => s.length > 0).map((s) => rougeTokenize(s, stem));
      out[type] = summaryLevelLcs(sents(target), sents(prediction));
    } else out[type] = scoreNgrams(tt, pt, kind);
  });
  return out;
}
