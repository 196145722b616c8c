import { InvalidArgumentError, Rng, describe } from '@nutshell/core';
import { GENDER_NAME_PAIRS, GENDER_WORD_PAIRS } from './cda-terms.js';

/**
 * Counterfactual data augmentation (Lu et al. 2018; name intervention after Maudslay et al. 2019):
 * every gendered word is swapped for its counterpart, so a model sees each context with both genders.
 *
 * - Whole words only ("manager", "human", "Sheffield" stay); contractions and possessives keep their
 *   clitic ("he's" → "she's", "men's" → "women's"); tokens inside e-mail addresses, URLs, handles or
 *   next to digits/underscores are left alone; a hyphenated compound is swapped only if the whole
 *   compound is in the list ("father-in-law") or its head follows ex-/step-/great-/grand- ("ex-husband").
 * - Case is kept: he → she, He → She, HE → SHE.
 * - "her" and "his" are ambiguous (her → his | him, his → her | hers). Without a tagger they are resolved
 *   from the next word: a content word or a number follows a possessive determiner ("her book" → "his
 *   book"); punctuation, the end, a function word or an -ly adverb follows an object / possessive pronoun
 *   ("saw her." → "saw him.", "is his." → "is hers."). Known misses: "gave her flowers" (→ "his flowers").
 *   Pass `resolve` to plug in a POS tagger.
 * - When a word has several counterparts in the list (lady → gentleman | lord), the first pair wins.
 */

export type WordPairs = readonly (readonly [string, string])[];

export interface CdaOptions {
  /** [first, second] pairs, lower case (default GENDER_WORD_PAIRS). */
  pairs?: WordPairs;
  /** Also swap first names (capitalised tokens only): true = GENDER_NAME_PAIRS, or your own pairs. Default false. */
  names?: boolean | WordPairs;
  /** 'both' (default) swaps in both directions; 'to-second' only first → second (one-sided CDA); 'to-first' the reverse. */
  direction?: 'both' | 'to-second' | 'to-first';
  /** Chooses among the candidates of an ambiguous word; return one of `candidates` (lower case). */
  resolve?: (ctx: { word: string; candidates: string[]; next: string | null; previous: string | null }) => string;
}

export interface CdaSwap {
  /** Character offsets of the replaced word in the input. */
  start: number;
  end: number;
  from: string;
  to: string;
  /** True when the word had several counterparts and context chose one. */
  ambiguous?: boolean;
}

export interface CdaResult {
  text: string;
  swaps: CdaSwap[];
}

const FUNCTION_WORDS = new Set(
  ('a an the this that these those some any every each no all both either neither my your our their its his her ' +
    'to in on at by for with from of about into onto over under after before through during without within across behind beside besides between among around against up down out off away back along like as than upon toward towards via per ' +
    'and or but nor so yet because if when while since although though unless until whether where which who whom whose what how why ' +
    'i you he she it we they me him us them myself yourself itself ourselves themselves something nothing anything everything someone anyone everyone nobody somebody anybody everybody ' +
    'is are was were be been being am do does did have has had will would can could shall should may might must ' +
    'not never always often sometimes again now then there here too very so also just still even ever once twice today tomorrow yesterday tonight soon later already enough well much more most less least instead anyway')
    .split(' '),
);
// -ly words that are adjectives or nouns (so "her family" is a determiner use, not an adverb).
const LY_NOT_ADVERB = new Set('family only lovely early friendly lonely ugly silly holy elderly daily weekly monthly yearly jolly belly bully lily ally rally jelly homely curly costly deadly likely lively lowly manly motherly fatherly sisterly brotherly womanly kindly orderly'.split(' '));
const COMPOUND_PREFIXES = new Set(['ex', 'step', 'great', 'grand']);
const CLITIC = /^(.+?)(['’](?:s|re|ve|ll|d|m|t))$/iu;
const WORD = /[\p{L}\p{M}]+(?:['’-][\p{L}\p{M}]+)*/gu;

function applyCase(model: string, word: string): string {
  if (model.length > 1 && model === model.toUpperCase() && model !== model.toLowerCase()) return word.toUpperCase();
  const first = model[0]!;
  if (first !== first.toLowerCase() && first === first.toUpperCase()) return word[0]!.toUpperCase() + word.slice(1);
  return word;
}

function buildMap(pairs: WordPairs, direction: CdaOptions['direction'], who: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  const add = (a: string, b: string) => {
    const l = map.get(a);
    if (!l) map.set(a, [b]);
    else if (!l.includes(b)) l.push(b);
  };
  for (const p of pairs) {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string' || !p[0] || !p[1]) throw new InvalidArgumentError(`${who}: every pair must be [string, string], got ${describe(p)}`);
    if (direction !== 'to-first') add(p[0], p[1]);
    if (direction !== 'to-second') add(p[1], p[0]);
  }
  return map;
}

/** The default context rule for her/his (see the file comment). */
function resolveByNextWord(word: string, candidates: string[], next: string | null): string {
  const lower = next?.toLowerCase() ?? null;
  const determinerUse = lower !== null && (/^\d/.test(lower) || (!FUNCTION_WORDS.has(lower) && !(lower.endsWith('ly') && !LY_NOT_ADVERB.has(lower))));
  const want = word === 'her' ? (determinerUse ? 'his' : 'him') : word === 'his' ? (determinerUse ? 'her' : 'hers') : candidates[0]!;
  return candidates.includes(want) ? want : candidates[0]!;
}

/** Swaps every listed word in `text` for its counterpart; returns the new text and each swap. */
export function counterfactualSwap(text: string, options: CdaOptions = {}): CdaResult {
  if (typeof text !== 'string') throw new InvalidArgumentError(`counterfactualSwap: expected a string, got ${describe(text)}`);
  const direction = options.direction ?? 'both';
  if (!['both', 'to-second', 'to-first'].includes(direction)) throw new InvalidArgumentError(`counterfactualSwap: direction must be 'both', 'to-second' or 'to-first', got ${describe(direction)}`);
  const pairs = options.pairs ?? GENDER_WORD_PAIRS;
  if (!Array.isArray(pairs)) throw new InvalidArgumentError(`counterfactualSwap: pairs must be an array of [string, string], got ${describe(pairs)}`);
  const words = buildMap(pairs.map((p) => (Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string' ? [p[0].toLowerCase(), p[1].toLowerCase()] as const : p)), direction, 'counterfactualSwap');
  const namePairs = options.names === true ? GENDER_NAME_PAIRS : Array.isArray(options.names) ? options.names : [];
  const names = buildMap(namePairs, direction, 'counterfactualSwap');
  const matches = [...text.matchAll(WORD)];
  const swaps: CdaSwap[] = [];
  let out = '', last = 0;
  for (let mi = 0; mi < matches.length; mi++) {
    const m = matches[mi]!;
    const start = m.index!, token = m[0], end = start + token.length;
    const before = text[start - 1] ?? '', after = text[end] ?? '', after2 = text[end + 1] ?? '';
    // Parts of e-mail addresses, URLs, handles, identifiers.
    if (/[@_/\\#\d]/.test(before) || /[@_/\\\d]/.test(after) || (after === '.' && /[\p{L}\d]/u.test(after2)) || (before === '.' && /[\p{L}\d]/u.test(text[start - 2] ?? ''))) continue;
    let base = token, clitic = '';
    const c = CLITIC.exec(token);
    if (c) [base, clitic] = [c[1]!, c[2]!];
    let prefix = '', lookup = base.toLowerCase(), cands = words.get(lookup);
    if (!cands && base.includes('-')) {
      const parts = base.split('-');
      const head = parts[parts.length - 1]!;
      if (parts.slice(0, -1).every((p) => COMPOUND_PREFIXES.has(p.toLowerCase())) && words.has(head.toLowerCase())) {
        prefix = base.slice(0, base.length - head.length);
        base = head;
        lookup = head.toLowerCase();
        cands = words.get(lookup);
      }
    }
    let isName = false;
    if (!cands && /^\p{Lu}\p{Ll}/u.test(base)) {
      cands = names.get(base);
      isName = !!cands;
    }
    if (!cands) continue;
    let target = cands[0]!;
    const ambiguous = cands.length > 1;
    if (ambiguous) {
      // The next word counts only when nothing but spaces separates it (punctuation ends the phrase).
      const nm = matches[mi + 1];
      const next = nm && /^\s*$/.test(text.slice(end, nm.index!)) ? nm[0] : (/^\s*(\d+)/.exec(text.slice(end))?.[1] ?? null);
      const pm = matches[mi - 1];
      const previous = pm && /^\s*$/.test(text.slice(pm.index! + pm[0].length, start)) ? pm[0] : null;
      target = options.resolve ? options.resolve({ word: lookup, candidates: [...cands], next, previous }) : resolveByNextWord(lookup, cands, next);
      if (!cands.includes(target)) throw new InvalidArgumentError(`counterfactualSwap: resolve returned ${describe(target)}, not one of ${cands.join(', ')}`);
    }
    const replaced = prefix + (isName ? target : applyCase(base, target)) + clitic;
    out += text.slice(last, start) + replaced;
    last = end;
    swaps.push({ start, end, from: token, to: replaced, ...(ambiguous ? { ambiguous: true } : {}) });
  }
  return { text: out + text.slice(last), swaps };
}

export interface CdaCorpusOptions extends CdaOptions {
  /**
   * 'duplicate' (default; Lu et al.'s CDA): the corpus plus the counterfactual of every text that changed.
   * 'substitute' (Maudslay et al.'s CDS): each text is replaced by its counterfactual with probability `probability`.
   */
  mode?: 'duplicate' | 'substitute';
  probability?: number;
  seed?: number | string;
}

export interface CdaCorpus {
  texts: string[];
  /** For each output text, the index of the source text and whether it is a counterfactual. */
  source: { index: number; counterfactual: boolean }[];
  /** Source texts that contained at least one listed word. */
  changed: number;
  swaps: number;
}

/** Augments a corpus with counterfactual copies (or substitutes them); see CdaCorpusOptions. */
export function counterfactualAugment(texts: readonly string[], options: CdaCorpusOptions = {}): CdaCorpus {
  if (!Array.isArray(texts)) throw new InvalidArgumentError(`counterfactualAugment: expected an array of strings, got ${describe(texts)}`);
  const mode = options.mode ?? 'duplicate';
  if (mode !== 'duplicate' && mode !== 'substitute') throw new InvalidArgumentError(`counterfactualAugment: mode must be 'duplicate' or 'substitute', got ${describe(mode)}`);
  const p = options.probability ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError(`counterfactualAugment: probability must be in [0, 1], got ${describe(p)}`);
  const rng = new Rng(options.seed ?? 0);
  const res: CdaCorpus = { texts: [], source: [], changed: 0, swaps: 0 };
  texts.forEach((t, i) => {
    const r = counterfactualSwap(t, options);
    if (r.swaps.length) { res.changed++; res.swaps += r.swaps.length; }
    if (mode === 'duplicate') {
      res.texts.push(t);
      res.source.push({ index: i, counterfactual: false });
      if (r.swaps.length) { res.texts.push(r.text); res.source.push({ index: i, counterfactual: true }); }
    } else {
      const flip = r.swaps.length > 0 && rng.uniform() < p;
      res.texts.push(flip ? r.text : t);
      res.source.push({ index: i, counterfactual: flip });
    }
  });
  return res;
}
