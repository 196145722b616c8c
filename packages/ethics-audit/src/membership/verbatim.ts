import { InvalidArgumentError, describe, type TextTokenizer } from '@nutshell/core';
import { suffixArray } from './suffix-array.js';

/**
 * Verbatim-overlap (extraction) check in the style of Carlini et al. 2021/2023: which spans of
 * generated text occur word for word in the training corpus. A suffix array over the corpus gives,
 * for every position of a generated text, the longest prefix that occurs in the corpus (the matching
 * statistics) and where; maximal spans of at least `minLength` units are reported (Carlini et al.
 * count 50-token continuations as extracted). Units are characters (UTF-16 code units) of strings or
 * token ids (pre-tokenized arrays, or strings with a `tokenizer`). Matches never cross corpus documents.
 */

export type Sequence = string | readonly number[] | Int32Array;

export interface VerbatimSpan {
  /** Offset and length in the generated text (units). */
  start: number;
  length: number;
  /** One corpus occurrence: document index and offset in it. */
  doc: number;
  docOffset: number;
  /** How many times the span occurs in the corpus. */
  occurrences: number;
  /** The span itself (a string for character units, token ids otherwise). */
  text: string | number[];
}

export interface MatchingStatistics {
  /** length[i]: longest prefix of query[i…] found in the corpus. */
  length: Int32Array;
  /** pos[i]: one global corpus position of that prefix (−1 when length is 0). */
  pos: Int32Array;
  /** count[i]: corpus occurrences of that prefix. */
  count: Int32Array;
}

export class VerbatimIndex {
  readonly unit: 'char' | 'token';
  /** Corpus size in units (separators excluded). */
  readonly size: number;
  private readonly s: Int32Array;
  private readonly sa: Int32Array;
  private readonly docStart: Int32Array;

  /**
   * Indexes the corpus documents. Strings are characters unless a tokenizer is given; number arrays are
   * token ids (non-negative integers).
   */
  constructor(corpus: string | readonly Sequence[], options: { tokenizer?: TextTokenizer } = {}) {
    const docs = typeof corpus === 'string' ? [corpus] : corpus;
    if (!Array.isArray(docs) || docs.length === 0) throw new InvalidArgumentError(`VerbatimIndex: expected a corpus (a string or an array of documents), got ${describe(corpus)}`);
    const seqs = docs.map((d, i) => toUnits(d, options.tokenizer, `VerbatimIndex: corpus[${i}]`));
    this.unit = typeof docs[0] === 'string' && !options.tokenizer ? 'char' : 'token';
    let total = 0;
    for (const q of seqs) total += q.length + 1;
    const s = new Int32Array(total), docStart = new Int32Array(seqs.length + 1);
    let p = 0;
    seqs.forEach((q, i) => {
      docStart[i] = p;
      s.set(q, p);
      p += q.length;
      s[p++] = -1 - i; // a separator no query symbol (≥ 0) can equal, distinct per document
    });
    docStart[seqs.length] = p;
    this.s = s;
    this.docStart = docStart;
    this.size = total - seqs.length;
    this.sa = suffixArray(s);
  }

  /** Compares the suffix at `pos` with q[from, from+len): −1, 0 (the suffix starts with it), 1. */
  private cmp(pos: number, q: Int32Array, from: number, len: number): number {
    const s = this.s, n = s.length;
    for (let d = 0; d < len; d++) {
      if (pos + d >= n) return -1;
      const a = s[pos + d]!, b = q[from + d]!;
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  }

  /** SA interval [lo, hi) of suffixes that start with q[from, from+len). */
  private interval(q: Int32Array, from: number, len: number): [number, number] {
    const sa = this.sa;
    let lo = 0, hi = sa.length;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (this.cmp(sa[mid]!, q, from, len) < 0) lo = mid + 1; else hi = mid; }
    let lo2 = lo, hi2 = sa.length;
    while (lo2 < hi2) { const mid = (lo2 + hi2) >>> 1; if (this.cmp(sa[mid]!, q, from, len) <= 0) lo2 = mid + 1; else hi2 = mid; }
    return [lo, lo2];
  }

  /** For every position of the query, the longest prefix that occurs in the corpus, one position and its count. */
  matchingStatistics(query: Sequence, options: { tokenizer?: TextTokenizer } = {}): MatchingStatistics {
    const q = toUnits(query, options.tokenizer, 'matchingStatistics: query');
    const m = q.length, sa = this.sa, s = this.s, n = s.length;
    const length = new Int32Array(m), pos = new Int32Array(m).fill(-1), count = new Int32Array(m);
    let prev = 0;
    for (let i = 0; i < m; i++) {
      // ms[i] ≥ ms[i−1] − 1: jump straight to that depth with one full-pattern search, then extend.
      let d = Math.max(0, prev - 1);
      let [lo, hi] = d > 0 ? this.interval(q, i, d) : [0, sa.length];
      while (i + d < m) {
        const c = q[i + d]!;
        // Within [lo, hi) all suffixes share d symbols; narrow to those whose next symbol is c.
        let a = lo, b = hi;
        while (a < b) { const mid = (a + b) >>> 1; const p = sa[mid]! + d; const v = p < n ? s[p]! : -Infinity; if (v < c) a = mid + 1; else b = mid; }
        let e = a, f = hi;
        while (e < f) { const mid = (e + f) >>> 1; const p = sa[mid]! + d; const v = p < n ? s[p]! : -Infinity; if (v <= c) e = mid + 1; else f = mid; }
        if (a === e) break;
        lo = a;
        hi = e;
        d++;
      }
      length[i] = d;
      if (d > 0) { pos[i] = sa[lo]!; count[i] = hi - lo; }
      prev = d;
    }
    return { length, pos, count };
  }

  /** Document index and offset of a global corpus position. */
  locate(globalPos: number): { doc: number; offset: number } {
    let lo = 0, hi = this.docStart.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >>> 1; if (this.docStart[mid]! <= globalPos) lo = mid; else hi = mid; }
    return { doc: lo, offset: globalPos - this.docStart[lo]! };
  }

  /** Maximal spans of the query of at least `minLength` units that occur verbatim in the corpus. */
  spans(query: Sequence, minLength: number, options: { tokenizer?: TextTokenizer } = {}): VerbatimSpan[] {
    if (!Number.isInteger(minLength) || minLength < 1) throw new InvalidArgumentError(`spans: minLength must be a positive integer, got ${describe(minLength)}`);
    const st = this.matchingStatistics(query, options);
    return maximalSpans(st, minLength).map((i) => this.span(query, options.tokenizer, st, i));
  }

  private span(query: Sequence, tokenizer: TextTokenizer | undefined, st: MatchingStatistics, i: number): VerbatimSpan {
    const len = st.length[i]!, { doc, offset } = this.locate(st.pos[i]!);
    const text = typeof query === 'string' && !tokenizer ? query.slice(i, i + len) : Array.from(toUnits(query, tokenizer, '')).slice(i, i + len);
    return { start: i, length: len, doc, docOffset: offset, occurrences: st.count[i]!, text };
  }

  /** Summary for one generated text: longest verbatim match, spans ≥ minLength, and k-gram overlap. */
  check(query: Sequence, minLength: number, options: { tokenizer?: TextTokenizer } = {}): VerbatimCheck {
    if (!Number.isInteger(minLength) || minLength < 1) throw new InvalidArgumentError(`check: minLength must be a positive integer, got ${describe(minLength)}`);
    const st = this.matchingStatistics(query, options);
    const m = st.length.length;
    let best = -1;
    for (let i = 0; i < m; i++) if (best < 0 || st.length[i]! > st.length[best]!) best = i;
    const spans = maximalSpans(st, minLength).map((i) => this.span(query, options.tokenizer, st, i));
    // Units covered by some span, and the fraction of the text's minLength-grams found in the corpus.
    const covered = new Uint8Array(m);
    for (const sp of spans) covered.fill(1, sp.start, sp.start + sp.length);
    let grams = 0, found = 0;
    for (let i = 0; i + minLength <= m; i++) { grams++; if (st.length[i]! >= minLength) found++; }
    return {
      length: m,
      longest: best >= 0 && st.length[best]! > 0 ? this.span(query, options.tokenizer, st, best) : null,
      spans,
      extracted: spans.length > 0,
      coveredFraction: m ? covered.reduce((a, b) => a + b, 0) / m : 0,
      ngramOverlap: grams ? found / grams : 0,
    };
  }
}

export interface VerbatimCheck {
  /** Length of the generated text in units. */
  length: number;
  /** The longest substring that occurs in the corpus (longest common substring), or null. */
  longest: VerbatimSpan | null;
  /** Maximal verbatim spans of at least minLength. */
  spans: VerbatimSpan[];
  /** At least one span of minLength or more (Carlini et al.'s "extracted"). */
  extracted: boolean;
  /** Fraction of units inside a reported span. */
  coveredFraction: number;
  /** Fraction of the text's minLength-grams that occur in the corpus. */
  ngramOverlap: number;
}

export interface VerbatimReport {
  unit: 'char' | 'token';
  minLength: number;
  corpusSize: number;
  texts: (VerbatimCheck & { index: number })[];
  /** Texts with at least one span ≥ minLength, and their fraction. */
  extractedCount: number;
  extractedRate: number;
  /** The longest verbatim match over all texts (units). */
  longestMatch: number;
}

/**
 * Extraction check of many generated texts against a training corpus: per text the spans of at least
 * `minLength` units (default 50) found verbatim, with positions, plus corpus-level rates.
 */
export function verbatimOverlap(generated: readonly Sequence[], corpus: string | readonly Sequence[] | VerbatimIndex, options: { minLength?: number; tokenizer?: TextTokenizer } = {}): VerbatimReport {
  if (!Array.isArray(generated)) throw new InvalidArgumentError(`verbatimOverlap: expected an array of generated texts, got ${describe(generated)}`);
  const minLength = options.minLength ?? 50;
  const index = corpus instanceof VerbatimIndex ? corpus : new VerbatimIndex(corpus, options);
  const texts = generated.map((g, index_) => ({ index: index_, ...index.check(g, minLength, options) }));
  const extractedCount = texts.filter((t) => t.extracted).length;
  return {
    unit: index.unit,
    minLength,
    corpusSize: index.size,
    texts,
    extractedCount,
    extractedRate: texts.length ? extractedCount / texts.length : 0,
    longestMatch: texts.reduce((a, t) => Math.max(a, t.longest?.length ?? 0), 0),
  };
}

/** Starts of maximal matches of length ≥ k: not contained in the match that starts one unit earlier. */
function maximalSpans(st: MatchingStatistics, k: number): number[] {
  const out: number[] = [];
  const L = st.length;
  for (let i = 0; i < L.length; i++) if (L[i]! >= k && (i === 0 || L[i - 1]! < L[i]! + 1)) out.push(i);
  return out;
}

function toUnits(x: Sequence, tokenizer: TextTokenizer | undefined, who: string): Int32Array {
  if (typeof x === 'string') {
    if (tokenizer) return Int32Array.from(tokenizer.encode(x));
    const a = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) a[i] = x.charCodeAt(i);
    return a;
  }
  if (x instanceof Int32Array) { for (const v of x) if (v < 0) throw new InvalidArgumentError(`${who}: token ids must be >= 0`); return x; }
  if (!Array.isArray(x)) throw new InvalidArgumentError(`${who}: expected a string or an array of token ids, got ${describe(x)}`);
  const a = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isInteger(v) || v! < 0 || v! > 0x7fffffff) throw new InvalidArgumentError(`${who}: token ids must be non-negative integers, got ${describe(v)} at ${i}`);
    a[i] = v!;
  }
  return a;
}
