import { InvalidArgumentError, describe } from '@nutshell/core';
import { bertBasicTokenize, type BasicTokenizerOptions } from './bert-basic.js';
import { MAX_PAIR_ID, PairMerger } from './pair-merger.js';
import { SpecialTokenMatcher } from './special-tokens.js';
import { assertWellFormed } from './unicode.js';
import { WordPieceTokenizer } from './wordpiece.js';

export interface TrainWordPieceOptions extends Omit<BasicTokenizerOptions, 'neverSplit'> {
  /** The training text: one string or any iterable of strings (e.g. lines). */
  corpus?: string | Iterable<string>;
  /** The same as `corpus`, as an array of texts. */
  texts?: readonly string[];
  /** Total vocabulary: special tokens + alphabet (with its "##" forms) + merged pieces. */
  vocabSize: number;
  /** A pair must occur at least this often (weighted by word counts) to be merged. Default 2 (HF BertWordPieceTokenizer.train). */
  minFrequency?: number;
  /** Tokens given the first ids, in this order. Default BERT's [PAD] [UNK] [CLS] [SEP] [MASK]. */
  specialTokens?: readonly string[];
  /** Keep only the this-many most frequent characters (HF limit_alphabet); rarer ones become [UNK]. */
  limitAlphabet?: number;
  /** Characters always in the alphabet, even when unseen or past limitAlphabet (HF initial_alphabet). */
  initialAlphabet?: readonly string[];
  /** Prefix of word-internal pieces. Default "##". */
  continuingSubwordPrefix?: string;
  /** Must be one of the special tokens. Default "[UNK]". */
  unkToken?: string;
}

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

const byCodePoint = (a: string, b: string): number => a.codePointAt(0)! - b.codePointAt(0)!;

function validate(o: TrainWordPieceOptions, where: string): { specials: string[]; prefix: string; unk: string; minFrequency: number; texts: Iterable<string> } {
  if (!o || typeof o !== 'object') throw new InvalidArgumentError(`${where}: expected an options object, got ${describe(o)}`);
  if ((o.corpus === undefined) === (o.texts === undefined)) throw new InvalidArgumentError(`${where}: give exactly one of corpus or texts`);
  const texts: Iterable<string> | undefined = typeof o.corpus === 'string' ? [o.corpus] : (o.corpus ?? o.texts);
  if (!texts || typeof (texts as Iterable<string>)[Symbol.iterator] !== 'function' || typeof texts === 'string') {
    throw new InvalidArgumentError(`${where}: corpus must be a string or an iterable of strings, got ${describe(o.corpus ?? o.texts)}`);
  }
  const specials = [...(o.specialTokens ?? BERT_SPECIALS)];
  if (new Set(specials).size !== specials.length || specials.some((s) => typeof s !== 'string' || !s.length || /[\r\n]/.test(s))) {
    throw new InvalidArgumentError(`${where}: specialTokens must be distinct non-empty strings without line breaks (vocab.txt holds one per line), got ${JSON.stringify(specials)}`);
  }
  const unk = o.unkToken ?? '[UNK]';
  if (!specials.includes(unk)) throw new InvalidArgumentError(`${where}: the unknown token ${JSON.stringify(unk)} must be one of specialTokens ${JSON.stringify(specials)}`);
  const { vocabSize } = o;
  if (!Number.isInteger(vocabSize) || vocabSize < specials.length || vocabSize >= MAX_PAIR_ID) {
    throw new InvalidArgumentError(`${where}: vocabSize must be an integer in [${specials.length}, ${MAX_PAIR_ID}) (at least the ${specials.length} special tokens), got ${describe(vocabSize)}`);
  }
  const minFrequency = o.minFrequency ?? 2;
  if (!Number.isInteger(minFrequency) || minFrequency < 0) throw new InvalidArgumentError(`${where}: minFrequency must be an integer ≥ 0, got ${describe(minFrequency)}`);
  if (o.limitAlphabet !== undefined && (!Number.isInteger(o.limitAlphabet) || o.limitAlphabet < 0)) {
    throw new InvalidArgumentError(`${where}: limitAlphabet must be an integer ≥ 0, got ${describe(o.limitAlphabet)}`);
  }
  if (o.initialAlphabet !== undefined && (!Array.isArray(o.initialAlphabet) || o.initialAlphabet.some((c) => typeof c !== 'string' || Array.from(c).length !== 1))) {
    throw new InvalidArgumentError(`${where}: initialAlphabet must be an array of single characters, got ${describe(o.initialAlphabet)}`);
  }
  const prefix = o.continuingSubwordPrefix ?? '##';
  if (typeof prefix !== 'string' || !prefix.length || /\s/.test(prefix)) {
    throw new InvalidArgumentError(`${where}: continuingSubwordPrefix must be a non-empty string without whitespace, got ${describe(prefix)}`);
  }
  return { specials, prefix, unk, minFrequency, texts };
}

/**
 * Trains a BERT WordPiece vocabulary the way Hugging Face `tokenizers`' WordPieceTrainer does: it
 * runs BPE training with a continuing-subword prefix over the basic-tokenized words and keeps the
 * BPE vocabulary as the WordPiece vocabulary.
 *
 * 1. Words: BERT's basic tokenizer (clean, lower-case, strip accents, split whitespace and
 *    punctuation, isolate CJK ideographs) over the corpus; special-token text in the corpus is cut
 *    out first, so "[MASK]" in the data does not teach "[", "mask", "]".
 * 2. Ids: special tokens first (in the given order), then the alphabet sorted by code point (the
 *    `limitAlphabet` most frequent characters, ties kept by smaller code point; plus
 *    `initialAlphabet`). Characters outside it are dropped from the words, as in HF.
 * 3. Each word becomes `c₀ ##c₁ ##c₂ …`; the "##c" forms are added in order of first appearance
 *    (words in order of first appearance in the corpus).
 * 4. Repeatedly merge the adjacent pair with the highest count (summed over word frequencies);
 *    the merged token is `left + right-without-prefix` ("un" + "##able" → "unable", "##a" + "##b" →
 *    "##ab"). **Ties** go to the pair with the smaller left id, then the smaller right id (HF's
 *    Merge ordering), so the result depends only on the corpus and the options. Stops at
 *    `vocabSize` or when the best pair occurs fewer than `minFrequency` times.
 *
 * The alphabet is never cut to fit `vocabSize` (as in HF), so a tiny vocabSize can be exceeded.
 * Returns a WordPieceTokenizer (greedy longest-match encoding) whose vocab.txt is `toVocabTxt()`.
 */
export function trainWordPiece(options: TrainWordPieceOptions): WordPieceTokenizer {
  const where = 'trainWordPiece';
  const { specials, prefix, unk, minFrequency, texts } = validate(options, where);
  const basic: BasicTokenizerOptions = { lowerCase: options.lowerCase, stripAccents: options.stripAccents, tokenizeChineseChars: options.tokenizeChineseChars };

  // 1. Word counts (insertion order = first appearance).
  const matcher = new SpecialTokenMatcher(specials);
  const allowed = new Set(specials);
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    assertWellFormed(text, where);
    for (const seg of matcher.split(text, allowed)) {
      if (seg.special) continue;
      for (const w of bertBasicTokenize(seg.text, basic)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
    }
  }

  // 2. Alphabet: character counts weighted by word counts, optionally limited.
  const charCounts = new Map<string, number>();
  for (const [w, n] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  for (const ch of options.initialAlphabet ?? []) charCounts.set(ch, Infinity);
  let alphabet = [...charCounts.keys()];
  const limit = options.limitAlphabet;
  if (limit !== undefined && alphabet.length > limit) {
    alphabet.sort((a, b) => charCounts.get(b)! - charCounts.get(a)! || byCodePoint(a, b));
    alphabet = alphabet.slice(0, Math.max(limit, (options.initialAlphabet ?? []).length));
  }
  alphabet.sort(byCodePoint);

  const tokens: string[] = [];
  const idOf = new Map<string, number>();
  const addToken = (t: string): number => {
    let id = idOf.get(t);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(t);
      idOf.set(t, id);
    }
    return id;
  };
  specials.forEach(addToken);
  alphabet.forEach(addToken);
  const inAlphabet = new Set(alphabet);

  // 3. Words as id sequences: first char bare, the rest with the prefix; unknown chars dropped.
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, n] of wordCounts) {
    const seq: number[] = [];
    let first = true;
    for (const ch of w) {
      if (inAlphabet.has(ch)) seq.push(addToken(first ? ch : prefix + ch));
      first = false;
    }
    if (seq.length >= 2) {
      words.push(seq);
      freq.push(n);
    }
  }

  // 4. Merge the most frequent pair until the vocabulary is full; "##" of the right part is dropped.
  const merger = new PairMerger(words, freq);
  while (tokens.length < options.vocabSize) {
    const pair = merger.best(minFrequency);
    if (!pair) break;
    const { left: a, right: b } = pair;
    const right = tokens[b]!.startsWith(prefix) ? tokens[b]!.slice(prefix.length) : tokens[b]!;
    merger.merge(a, b, addToken(tokens[a]! + right));
  }

  return new WordPieceTokenizer({
    vocab: tokens,
    unkToken: unk,
    specialTokens: specials,
    continuingSubwordPrefix: prefix,
    lowerCase: options.lowerCase,
    stripAccents: options.stripAccents,
    tokenizeChineseChars: options.tokenizeChineseChars,
  });
}
