import { InvalidArgumentError, type MetricResult } from '@nutshell/core';
import { SACREBLEU_VERSION } from './bleu.js';
import { symbolNgrams, sumCounts } from './ngrams.js';
import { codePoints, pySplit, removeWhitespace } from './python-strings.js';
import { alignReferences } from './references.js';

export interface ChrfOptions {
  /** Character n-gram order (default 6). */
  charOrder?: number;
  /** Word n-gram order: 0 is chrF, 2 is chrF++ (default 0). */
  wordOrder?: number;
  /** Recall weight (default 2). */
  beta?: number;
  lowercase?: boolean;
  /** Keep whitespace in character n-grams (default false). */
  whitespace?: boolean;
  /** chrF++.py-style epsilon smoothing instead of sacreBLEU's effective order (default false). */
  epsSmoothing?: boolean;
}

export interface ChrfScore {
  /** 0–100. */
  score: number;
  /** e.g. "chrF2" or "chrF2++". */
  name: string;
  /** sacreBLEU signature, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.5.1`. */
  signature: string;
}

// Python's string.punctuation, which sacreBLEU splits off word edges for chrF++.
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

interface Resolved {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  eps: boolean;
}

function resolve(o: ChrfOptions): Resolved {
  const r = {
    charOrder: o.charOrder ?? 6,
    wordOrder: o.wordOrder ?? 0,
    beta: o.beta ?? 2,
    lowercase: o.lowercase ?? false,
    whitespace: o.whitespace ?? false,
    eps: o.epsSmoothing ?? false,
  };
  if (!Number.isInteger(r.charOrder) || r.charOrder < 1) throw new InvalidArgumentError(`chrf: charOrder must be a positive integer, got ${r.charOrder}`);
  if (!Number.isInteger(r.wordOrder) || r.wordOrder < 0) throw new InvalidArgumentError(`chrf: wordOrder must be a non-negative integer, got ${r.wordOrder}`);
  if (!(r.beta > 0)) throw new InvalidArgumentError(`chrf: beta must be positive, got ${r.beta}`);
  return r;
}

/** sacreBLEU's chrF++ word splitter: one leading or trailing ASCII punctuation mark becomes its own word. */
export function chrfWords(sentence: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sentence)) {
    const cps = codePoints(w);
    if (cps.length === 1) out.push(w);
    else if (PUNCTS.has(cps[cps.length - 1]!)) out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]!);
    else if (PUNCTS.has(cps[0]!)) out.push(cps[0]!, cps.slice(1).join(''));
    else out.push(w);
  }
  return out;
}

function allNgrams(sentence: string, r: Resolved): Map<string, number>[] {
  const chars = codePoints(r.whitespace ? sentence : removeWhitespace(sentence));
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= r.charOrder; n++) out.push(symbolNgrams(chars, n, ''));
  if (r.wordOrder > 0) {
    const words = chrfWords(sentence);
    // A NUL joiner cannot collide with word content.
    for (let n = 1; n <= r.wordOrder; n++) out.push(symbolNgrams(words, n, '\u0000'));
  }
  return out;
}

function fScore(stats: readonly number[], r: Resolved): number {
  const eps = 1e-16;
  const order = r.charOrder + r.wordOrder;
  const factor = r.beta ** 2;
  let score = 0;
  let eff = 0;
  let avgP = 0;
  let avgR = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i]!;
    const nRef = stats[3 * i + 1]!;
    const nMatch = stats[3 * i + 2]!;
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgP += prec;
      avgR += rec;
      eff++;
    }
  }
  if (r.eps) return (100 * score) / order;
  if (eff === 0) return 0;
  avgP /= eff;
  avgR /= eff;
  if (avgP + avgR === 0) return 0;
  return (100 * (1 + factor) * avgP * avgR) / (factor * avgP + avgR);
}

function segmentStats(hypothesis: string, references: readonly string[], r: Resolved): number[] {
  const pre = (s: string) => (r.lowercase ? s.toLowerCase() : s);
  const hyp = allNgrams(pre(hypothesis), r);
  let best: number[] = [];
  let bestF = -1;
  for (const ref of references) {
    const refNgrams = allNgrams(pre(ref), r);
    const stats: number[] = [];
    for (let i = 0; i < hyp.length; i++) {
      const h = hyp[i]!;
      const rr = refNgrams[i]!;
      let match = 0;
      let hypCount = 0;
      for (const [ng, c] of h) {
        hypCount += c;
        const rc = rr.get(ng);
        if (rc !== undefined) match += Math.min(c, rc);
      }
      // sacreBLEU does not count hypothesis n-grams of an order the reference lacks.
      stats.push(rr.size > 0 ? hypCount : 0, sumCounts(rr), match);
    }
    const f = fScore(stats, r);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  return best;
}

function signature(r: Resolved, nrefs: number | 'var'): string {
  return `nrefs:${nrefs}|case:${r.lowercase ? 'lc' : 'mixed'}|eff:${r.eps ? 'no' : 'yes'}|nc:${r.charOrder}|nw:${r.wordOrder}|space:${r.whitespace ? 'yes' : 'no'}|version:${SACREBLEU_VERSION}`;
}

function result(stats: readonly number[], r: Resolved, nrefs: number | 'var'): ChrfScore {
  return { score: fScore(stats, r), name: `chrF${r.beta}${'+'.repeat(r.wordOrder)}`, signature: signature(r, nrefs) };
}

/** Corpus chrF / chrF++ as sacreBLEU's `corpus_chrf` (statistics summed over segments, best reference per segment). */
export function corpusChrf(hypotheses: readonly string[], references: readonly (readonly string[])[], options: ChrfOptions = {}): ChrfScore {
  const r = resolve(options);
  const { perSegment, nrefs } = alignReferences('chrf', hypotheses, references);
  const sum = new Array<number>(3 * (r.charOrder + r.wordOrder)).fill(0);
  hypotheses.forEach((hyp, i) => {
    const s = segmentStats(hyp, perSegment[i]!, r);
    for (let j = 0; j < s.length; j++) sum[j]! += s[j]!;
  });
  return result(sum, r, nrefs);
}

/** Per-segment chrF statistics ([hyp, ref, match] per order), e.g. for bootstrap resampling. */
export function corpusChrfStats(hypotheses: readonly string[], references: readonly (readonly string[])[], options: ChrfOptions = {}): number[][] {
  const r = resolve(options);
  const { perSegment } = alignReferences('chrf', hypotheses, references);
  return hypotheses.map((hyp, i) => segmentStats(hyp, perSegment[i]!, r));
}

export function chrfFromStats(stats: readonly number[], options: ChrfOptions = {}, nrefs: number | 'var' = 1): ChrfScore {
  return result(stats, resolve(options), nrefs);
}

/** Sentence chrF as sacreBLEU's `sentence_chrf`. */
export function sentenceChrf(hypothesis: string, references: readonly string[], options: ChrfOptions = {}): ChrfScore {
  if (!Array.isArray(references) || references.length === 0) throw new InvalidArgumentError('sentenceChrf: references must be a non-empty array of strings');
  return corpusChrf([hypothesis], references.map((ref) => [ref]), options);
}

export function chrfResult(score: ChrfScore): MetricResult {
  return { name: score.name, value: score.score, higherIsBetter: true, signature: score.signature };
}
