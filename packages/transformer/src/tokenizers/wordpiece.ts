import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { bertBasicTokenize, type BasicTokenizerOptions } from './bert-basic.js';
import { SpecialTokenMatcher } from './special-tokens.js';
import type { DecodeOptions, EncodeOptions, TokenInfo, Tokenizer } from './types.js';
import { assertWellFormed } from './unicode.js';

export interface WordPieceOptions extends Omit<BasicTokenizerOptions, 'neverSplit'> {
  /** Tokens in id order (vocab.txt lines), or token → id. */
  vocab: readonly string[] | ReadonlyMap<string, number>;
  /** Default "[UNK]"; must be in the vocabulary. */
  unkToken?: string;
  /** Special tokens matched atomically; default those of [PAD] [UNK] [CLS] [SEP] [MASK] that are in the vocabulary. */
  specialTokens?: readonly string[];
  /** Prefix of word-internal pieces. Default "##". */
  continuingSubwordPrefix?: string;
  /** Longer words become one unknown token. Default 100. */
  maxInputCharsPerWord?: number;
}

/** What a BERT-style encoder takes: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`. */
export interface EncodedPair {
  ids: number[];
  /** 0 for the first segment (with [CLS] and its [SEP]), 1 for the second. */
  tokenTypeIds: number[];
  attentionMask: number[];
}

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/**
 * BERT's WordPiece: the basic tokenizer (see bertBasicTokenize), then, for each word, greedy
 * longest-match-first over the vocabulary, word-internal pieces carrying the "##" prefix. A word
 * with a part that matches nothing, or longer than maxInputCharsPerWord, becomes one [UNK].
 * Lossy by design (case, accents and spacing are normalized away).
 */
export class WordPieceTokenizer implements Tokenizer {
  readonly kind = 'wordpiece';
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly basic: BasicTokenizerOptions;
  private readonly vocab = new Map<string, number>();
  private readonly idToTok: string[] = [];
  private readonly matcher: SpecialTokenMatcher;

  constructor(options: WordPieceOptions) {
    const v = options.vocab;
    const entries: [string, number][] = Array.isArray(v) ? (v as string[]).map((t, i) => [t, i]) : [...(v as ReadonlyMap<string, number>).entries()];
    if (!entries.length) throw new FormatError('wordpiece vocab', 'the vocabulary is empty');
    for (const [tok, id] of entries) {
      if (typeof tok !== 'string' || !Number.isInteger(id) || id < 0) throw new FormatError('wordpiece vocab', `bad entry ${JSON.stringify(tok)} → ${String(id)}`);
      // vocab.txt may repeat a line; as in BERT, the later id wins for the token.
      this.vocab.set(tok, id);
      this.idToTok[id] = tok;
    }
    this.unkToken = options.unkToken ?? '[UNK]';
    if (!this.vocab.has(this.unkToken)) throw new FormatError('wordpiece vocab', `the unknown token ${JSON.stringify(this.unkToken)} is not in the vocabulary`);
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    if (!Number.isInteger(this.maxInputCharsPerWord) || this.maxInputCharsPerWord < 1) throw new InvalidArgumentError(`WordPieceTokenizer: maxInputCharsPerWord must be a positive integer, got ${String(options.maxInputCharsPerWord)}`);
    const specials = new Map<string, number>();
    for (const s of options.specialTokens ?? BERT_SPECIALS.filter((t) => this.vocab.has(t))) {
      const id = this.vocab.get(s);
      if (id === undefined) throw new InvalidArgumentError(`WordPieceTokenizer: special token ${JSON.stringify(s)} is not in the vocabulary`);
      specials.set(s, id);
    }
    specials.set(this.unkToken, this.vocab.get(this.unkToken)!);
    this.specialTokens = specials;
    this.matcher = new SpecialTokenMatcher([...specials.keys()]);
    this.basic = { lowerCase: options.lowerCase, stripAccents: options.stripAccents, tokenizeChineseChars: options.tokenizeChineseChars, neverSplit: [...specials.keys()] };
  }

  /** From vocab.txt: one token per line, id = line number. */
  static fromVocabTxt(text: string, options: Omit<WordPieceOptions, 'vocab'> = {}): WordPieceTokenizer {
    if (typeof text !== 'string') throw new FormatError('vocab.txt', 'expected text');
    const lines = text.split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return new WordPieceTokenizer({ ...options, vocab: lines });
  }

  /** vocab.txt text. */
  toVocabTxt(): string {
    return `${Array.from(this.idToTok, (t) => t ?? '').join('\n')}\n`;
  }

  get vocabSize(): number {
    return this.idToTok.length;
  }

  idToToken(id: number): string | undefined {
    return this.idToTok[id];
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /** Greedy longest-match-first pieces of one word. */
  wordPieces(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.maxInputCharsPerWord) return [this.unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? this.continuingSubwordPrefix : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.unkToken];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** Token strings of text (no [CLS]/[SEP]). */
  tokenizeToStrings(text: string, options: EncodeOptions = {}): string[] {
    assertWellFormed(text, 'encode');
    const allowed = this.matcher.allowedSet(options.allowedSpecial, 'encode');
    const out: string[] = [];
    for (const seg of this.matcher.split(text, allowed)) {
      if (seg.special) {
        out.push(seg.text);
        continue;
      }
      const basic = allowed.size === this.specialTokens.size ? this.basic : { ...this.basic, neverSplit: [...allowed] };
      for (const word of bertBasicTokenize(seg.text, basic)) {
        if (allowed.has(word)) out.push(word);
        else out.push(...this.wordPieces(word));
      }
    }
    return out;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    return this.tokenizeToStrings(text, options).map((t) => this.vocab.get(t)!);
  }

  tokenize(text: string, options?: EncodeOptions): TokenInfo[] {
    return this.tokenizeToStrings(text, options).map((token) => ({ token, id: this.vocab.get(token)! }));
  }

  /** `[CLS] a [SEP]` (and `b [SEP]`), with token type ids and attention mask, as BERT's inputs. */
  encodeForModel(text: string, pair?: string, options?: EncodeOptions): EncodedPair {
    const cls = this.vocab.get('[CLS]');
    const sep = this.vocab.get('[SEP]');
    if (cls === undefined || sep === undefined) throw new InvalidArgumentError('encodeForModel: the vocabulary needs [CLS] and [SEP]');
    const a = [cls, ...this.encode(text, options), sep];
    const b = pair === undefined ? [] : [...this.encode(pair, options), sep];
    const ids = [...a, ...b];
    return { ids, tokenTypeIds: [...a.map(() => 0), ...b.map(() => 1)], attentionMask: ids.map(() => 1) };
  }

  /** Tokens joined by spaces with "##" continuations glued back (BERT's decoding; not the original text). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const special = new Set(this.specialTokens.values());
    let s = '';
    ids.forEach((id, k) => {
      const tok = Number.isInteger(id) ? this.idToTok[id] : undefined;
      if (tok === undefined) throw new InvalidArgumentError(`decode: id ${String(id)} at position ${k} is not in the vocabulary (ids are integers in [0, ${this.vocabSize}))`);
      if (options.skipSpecialTokens && special.has(id)) return;
      if (s && tok.startsWith(this.continuingSubwordPrefix)) s += tok.slice(this.continuingSubwordPrefix.length);
      else s += (s ? ' ' : '') + tok;
    });
    return s;
  }
}
