import { InvalidArgumentError, type MetricResult } from '@nutshell/core';
import { corpusBleu, sentenceBleu, type BleuOptions } from './bleu.js';
import { bleuTokenizer } from './tokenizers.js';

/**
 * distinct-n (Li et al. 2016): unique n-grams / total n-grams over all texts, after the BLEU
 * tokenizer (`tokenize`, default 13a) — 1.0 means no n-gram repeats anywhere.
 */
export function distinctN(texts: readonly string[], n = 2, options: { tokenize?: BleuOptions['tokenize']; lowercase?: boolean } = {}): MetricResult {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`distinctN: n must be a positive integer, got ${n}`);
  const tok = bleuTokenizer(options.tokenize ?? '13a');
  const seen = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const words = tok(options.lowercase ? t.toLowerCase() : t).split(' ').filter(Boolean);
    for (let i = 0; i + n <= words.length; i++) {
      seen.add(words.slice(i, i + n).join(' '));
      total++;
    }
  }
  return { name: `distinct-${n}`, value: total ? seen.size / total : 0, higherIsBetter: true, signature: `distinct|n:${n}|tok:${options.tokenize ?? '13a'}`, details: { unique: seen.size, total } };
}

/**
 * Self-BLEU (Zhu et al. 2018, Texygen): each text scored as a hypothesis against all the others as
 * references, averaged. `mode: 'sentence'` (default) averages sacreBLEU sentence BLEU (effective
 * order, exp smoothing as sacreBLEU's sentence_bleu); 'corpus' computes one corpus BLEU where text i's
 * references are the other texts. Lower = more diverse. Scores in 0–100.
 */
export function selfBleu(texts: readonly string[], options: BleuOptions & { mode?: 'sentence' | 'corpus'; maxTexts?: number } = {}): MetricResult {
  if (texts.length < 2) throw new InvalidArgumentError(`selfBleu: needs at least 2 texts, got ${texts.length}`);
  const use = texts.slice(0, options.maxTexts ?? texts.length);
  const mode = options.mode ?? 'sentence';
  let value: number;
  if (mode === 'sentence') {
    let s = 0;
    use.forEach((h, i) => {
      s += sentenceBleu(h, use.filter((_, j) => j !== i), options).score;
    });
    value = s / use.length;
  } else {
    // corpusBleu takes one stream per reference slot: slot k for text i is the k-th other text.
    const refs = Array.from({ length: use.length - 1 }, (_, k) => use.map((_, i) => use[k < i ? k : k + 1]!));
    value = corpusBleu(use, refs, options).score;
  }
  return { name: 'self-bleu', value, higherIsBetter: false, signature: `self-bleu|${mode}|n:${use.length}`, details: { texts: use.length, mode } };
}

/**
 * Exact match: share of predictions equal to any of their references after optional normalization
 * (`normalize: 'squad'` = lowercase, strip punctuation and articles a/an/the, collapse whitespace, as
 * the SQuAD v1.1 evaluation script).
 */
export function exactMatch(predictions: readonly string[], references: readonly (string | readonly string[])[], options: { normalize?: 'none' | 'trim' | 'squad' } = {}): MetricResult {
  if (predictions.length !== references.length) throw new InvalidArgumentError(`exactMatch: ${predictions.length} predictions but ${references.length} references`);
  if (predictions.length === 0) throw new InvalidArgumentError('exactMatch: no predictions');
  const mode = options.normalize ?? 'none';
  const norm = (s: string) => {
    if (mode === 'none') return s;
    if (mode === 'trim') return s.trim();
    return s.toLowerCase().replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '').replace(/\b(a|an|the)\b/g, ' ').split(/\s+/).filter(Boolean).join(' ');
  };
  let hits = 0;
  predictions.forEach((p, i) => {
    const refs = typeof references[i] === 'string' ? [references[i] as string] : (references[i] as readonly string[]);
    if (refs.some((r) => norm(r) === norm(p))) hits++;
  });
  return { name: 'exact-match', value: hits / predictions.length, higherIsBetter: true, signature: `exact-match|normalize:${mode}`, details: { matches: hits, total: predictions.length } };
}
