import { InvalidArgumentError, type MetricResult } from '@nutshell/core';
import { wordNgrams } from './ngrams.js';
import { pyRstrip, pySplit } from './python-strings.js';
import { alignReferences } from './references.js';
import { bleuTokenizer, type BleuTokenizerName } from './tokenizers.js';

/** The sacreBLEU release whose behaviour (and signature `version:` field) this implementation follows. */
export const SACREBLEU_VERSION = '2.5.1';

export type BleuSmoothing = 'exp' | 'floor' | 'add-k' | 'none';

export interface BleuOptions {
  /** Default '13a'. */
  tokenize?: BleuTokenizerName;
  lowercase?: boolean;
  /** Default 'exp' (NIST / mteval-v13a smoothing). */
  smooth?: BleuSmoothing;
  /** Value for 'floor' (default 0.1) and 'add-k' (default 1). */
  smoothValue?: number;
  /** Default 4. */
  maxNgramOrder?: number;
  /** Use only the n-gram orders the hypothesis has (default false for corpus, true for sentence). */
  effectiveOrder?: boolean;
}

export interface BleuScore {
  /** 0–100. */
  score: number;
  counts: number[];
  totals: number[];
  /** Per-order precisions, 0–100. */
  precisions: number[];
  bp: number;
  ratio: number;
  sys_len: number;
  ref_len: number;
  /** sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.5.1`. */
  signature: string;
}

const SMOOTH_DEFAULTS: Record<BleuSmoothing, number | undefined> = { none: undefined, floor: 0.1, 'add-k': 1, exp: undefined };

/** sacreBLEU's my_log: log of 0 is a very negative number, not -Infinity. */
const myLog = (x: number) => (x === 0 ? -9999999999 : Math.log(x));

interface Resolved {
  tokenize: (s: string) => string;
  tokName: BleuTokenizerName;
  lowercase: boolean;
  smooth: BleuSmoothing;
  smoothValue: number | undefined;
  maxOrder: number;
  effectiveOrder: boolean;
}

function resolve(options: BleuOptions, defaultEffective: boolean): Resolved {
  const smooth = options.smooth ?? 'exp';
  if (!(smooth in SMOOTH_DEFAULTS)) {
    throw new InvalidArgumentError(`bleu: smooth must be one of exp, floor, add-k, none; got ${JSON.stringify(smooth)}`);
  }
  const maxOrder = options.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxOrder) || maxOrder < 1) throw new InvalidArgumentError(`bleu: maxNgramOrder must be a positive integer, got ${maxOrder}`);
  if (options.smoothValue !== undefined && !Number.isFinite(options.smoothValue)) {
    throw new InvalidArgumentError(`bleu: smoothValue must be a finite number, got ${options.smoothValue}`);
  }
  const tokName = options.tokenize ?? '13a';
  return {
    tokenize: bleuTokenizer(tokName),
    tokName,
    lowercase: options.lowercase ?? false,
    smooth,
    smoothValue: options.smoothValue ?? SMOOTH_DEFAULTS[smooth],
    maxOrder,
    effectiveOrder: options.effectiveOrder ?? defaultEffective,
  };
}

function signature(r: Resolved, nrefs: number | 'var'): string {
  let smooth: string = r.smooth;
  if (SMOOTH_DEFAULTS[r.smooth] !== undefined) smooth += `[${(r.smoothValue ?? SMOOTH_DEFAULTS[r.smooth]!).toFixed(2)}]`;
  return `nrefs:${nrefs}|case:${r.lowercase ? 'lc' : 'mixed'}|eff:${r.effectiveOrder ? 'yes' : 'no'}|tok:${r.tokName}|smooth:${smooth}|version:${SACREBLEU_VERSION}`;
}

/** Per-segment sufficient statistics: [hypLen, refLen, correct_1..N, total_1..N]. */
export function bleuSegmentStats(hypothesis: string, references: readonly string[], options: BleuOptions = {}): number[] {
  return segmentStats(hypothesis, references, resolve(options, false));
}

function preprocess(r: Resolved, s: string): string {
  return r.tokenize(pyRstrip(r.lowercase ? s.toLowerCase() : s));
}

function segmentStats(hypothesis: string, references: readonly string[], r: Resolved): number[] {
  let refNgrams: Map<string, number> | undefined;
  const refLens: number[] = [];
  for (const ref of references) {
    const toks = pySplit(preprocess(r, ref));
    const ngrams = wordNgrams(toks, 1, r.maxOrder);
    refLens.push(toks.length);
    if (!refNgrams) refNgrams = ngrams;
    else for (const [k, v] of ngrams) refNgrams.set(k, Math.max(refNgrams.get(k) ?? 0, v));
  }
  const hypToks = pySplit(preprocess(r, hypothesis));
  const hypLen = hypToks.length;
  // Closest reference length; ties go to the shorter reference.
  let closestDiff = -1;
  let refLen = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      refLen = len;
    } else if (diff === closestDiff && len < refLen) refLen = len;
  }
  const correct = new Array<number>(r.maxOrder).fill(0);
  const total = new Array<number>(r.maxOrder).fill(0);
  for (const [ngram, count] of wordNgrams(hypToks, 1, r.maxOrder)) {
    const n = ngram.split(' ').length - 1;
    total[n]! += count;
    const refCount = refNgrams?.get(ngram);
    if (refCount !== undefined) correct[n]! += Math.min(count, refCount);
  }
  return [hypLen, refLen, ...correct, ...total];
}

/** sacreBLEU's compute_bleu: the score from summed statistics, with smoothing and effective order. */
export function computeBleu(
  correctIn: readonly number[],
  totalIn: readonly number[],
  sysLen: number,
  refLen: number,
  options: { smooth?: BleuSmoothing; smoothValue?: number; effectiveOrder?: boolean; maxNgramOrder?: number } = {},
): Omit<BleuScore, 'signature'> {
  const smooth = options.smooth ?? 'none';
  const smoothValue = options.smoothValue ?? SMOOTH_DEFAULTS[smooth] ?? 0;
  const maxOrder = options.maxNgramOrder ?? 4;
  const correct = [...correctIn];
  const total = [...totalIn];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const ratio = refLen ? sysLen / refLen : 0;
  const base = { counts: correct, totals: total, precisions, bp, ratio, sys_len: sysLen, ref_len: refLen };
  if (!correct.some((c) => c !== 0)) return { score: 0, ...base };
  let smoothMteval = 1;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smooth === 'add-k' && n > 1) {
      correct[n - 1]! += smoothValue;
      total[n - 1]! += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (options.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]!);
      } else if (smooth === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1]!;
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]!) / total[n - 1]!;
    }
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]!);
  return { score: bp * Math.exp(logSum / effOrder), ...base };
}

function fromStats(stats: readonly number[], r: Resolved, nrefs: number | 'var'): BleuScore {
  const result = computeBleu(stats.slice(2, 2 + r.maxOrder), stats.slice(2 + r.maxOrder), stats[0]!, stats[1]!, {
    smooth: r.smooth,
    smoothValue: r.smoothValue,
    effectiveOrder: r.effectiveOrder,
    maxNgramOrder: r.maxOrder,
  });
  return { ...result, signature: signature(r, nrefs) };
}

/**
 * Corpus BLEU exactly as sacreBLEU's `corpus_bleu(hypotheses, references)`: `references` is a list
 * of reference streams, each line-aligned with `hypotheses`.
 */
export function corpusBleu(hypotheses: readonly string[], references: readonly (readonly string[])[], options: BleuOptions = {}): BleuScore {
  const r = resolve(options, false);
  const { perSegment, nrefs } = alignReferences('bleu', hypotheses, references);
  const sum = new Array<number>(2 + 2 * r.maxOrder).fill(0);
  hypotheses.forEach((hyp, i) => {
    const s = segmentStats(hyp, perSegment[i]!, r);
    for (let j = 0; j < s.length; j++) sum[j]! += s[j]!;
  });
  return fromStats(sum, r, nrefs);
}

/** Per-segment statistics of a corpus (for bootstrap resampling and paired tests). */
export function corpusBleuStats(hypotheses: readonly string[], references: readonly (readonly string[])[], options: BleuOptions = {}): number[][] {
  const r = resolve(options, false);
  const { perSegment } = alignReferences('bleu', hypotheses, references);
  return hypotheses.map((hyp, i) => segmentStats(hyp, perSegment[i]!, r));
}

/** Corpus BLEU from summed per-segment statistics (see `corpusBleuStats`). */
export function bleuFromStats(stats: readonly number[], options: BleuOptions = {}, nrefs: number | 'var' = 1): BleuScore {
  return fromStats(stats, resolve(options, false), nrefs);
}

/**
 * Sentence BLEU as sacreBLEU's `sentence_bleu(hypothesis, references)`: effective order on by default.
 */
export function sentenceBleu(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuScore {
  if (typeof hypothesis !== 'string') throw new InvalidArgumentError('sentenceBleu: hypothesis must be a string');
  if (!Array.isArray(references) || references.length === 0) throw new InvalidArgumentError('sentenceBleu: references must be a non-empty array of strings');
  const r = resolve(options, true);
  const { perSegment, nrefs } = alignReferences('bleu', [hypothesis], references.map((ref) => [ref]));
  return fromStats(segmentStats(hypothesis, perSegment[0]!, r), r, nrefs);
}

/** BLEU as a MetricResult (for registries and reports). */
export function bleuResult(score: BleuScore): MetricResult {
  return { name: 'bleu', value: score.score, higherIsBetter: true, signature: score.signature, details: { ...score } };
}
