import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { BYTE_TO_UNICODE, unicodeToBytes } from './byte-unicode.js';
import { GPT2_PATTERN, compilePattern, pretokenize } from './pretokenize.js';
import { SpecialTokenMatcher } from './special-tokens.js';
import type { DecodeOptions, EncodeOptions, TokenInfo, Tokenizer } from './types.js';
import { assertWellFormed, utf8 } from './unicode.js';

export interface ByteLevelBPEOptions {
  /** Token string (GPT-2 byte-level form, e.g. "Ġthe") → id. Must contain all 256 byte symbols. */
  vocab: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Merge list in rank order: [left, right] pairs of vocabulary strings (merges.txt lines). */
  merges: readonly (readonly [string, string])[];
  /**
   * Special tokens, matched atomically in text (when allowed) and never split. Each must either be
   * in `vocab` already (GPT-2's `<|endoftext|>` is) or be given with its id here.
   */
  specialTokens?: readonly string[] | Readonly<Record<string, number>>;
  /** Pre-tokenization regex source (Python `regex` syntax); default GPT-2's. */
  pattern?: string;
  /** Entries in the word → ids cache before it is cleared. Default 50,000; 0 disables it. */
  cacheSize?: number;
}

const PAIR_SHIFT = 0x200000; // ids and ranks < 2^21, so rank * 2^21 + id is an exact double
/** Pieces longer than this (in bytes) use the O(n log n) merge loop. */
const LONG_PIECE = 64;

/**
 * Byte-level BPE exactly as GPT-2 does it: GPT-2's pre-tokenization regex, the byte↔unicode map,
 * then, within each pre-token, the pair of adjacent symbols with the lowest merge rank is merged
 * (every occurrence, left to right) until no ranked pair is left. A cache maps repeated pre-tokens
 * straight to ids. Lossless for every well-formed string: all 256 bytes are in the vocabulary.
 */
export class ByteLevelBPETokenizer implements Tokenizer {
  readonly kind = 'byte-bpe';
  readonly pattern: string;
  readonly specialTokens: ReadonlyMap<string, number>;
  private readonly vocab: Map<string, number>;
  private readonly idToTok: string[];
  private readonly mergeList: (readonly [string, string])[];
  /** mergeRank[left id] maps right id → rank * 2^21 + merged id: one lookup gives both (small-integer keys hash fast). */
  private readonly mergeRank: (Map<number, number> | undefined)[] = [];
  private readonly byteIds = new Int32Array(256);
  private readonly specialIds: Set<number>;
  private readonly matcher: SpecialTokenMatcher;
  private readonly regex: RegExp;
  private readonly cache = new Map<string, number[]>();
  private readonly cacheSize: number;
  private readonly maxId: number;

  constructor(options: ByteLevelBPEOptions) {
    const where = 'ByteLevelBPETokenizer';
    const entries = options.vocab instanceof Map ? [...options.vocab.entries()] : Object.entries(options.vocab ?? {});
    if (!entries.length) throw new FormatError('bpe vocab', 'the vocabulary is empty');
    this.vocab = new Map();
    this.idToTok = [];
    for (const [tok, id] of entries) {
      if (!Number.isInteger(id) || id < 0 || id >= PAIR_SHIFT) throw new FormatError('bpe vocab', `id of ${JSON.stringify(tok)} must be an integer in [0, ${PAIR_SHIFT}), got ${String(id)}`);
      if (this.idToTok[id] !== undefined) throw new FormatError('bpe vocab', `id ${id} is given to both ${JSON.stringify(this.idToTok[id])} and ${JSON.stringify(tok)}`);
      this.vocab.set(tok, id);
      this.idToTok[id] = tok;
    }
    const specials = new Map<string, number>();
    const given = options.specialTokens ?? [];
    const list: [string, number | undefined][] = Array.isArray(given) ? (given as string[]).map((t) => [t, undefined]) : Object.entries(given);
    for (const [tok, id] of list) {
      if (typeof tok !== 'string' || !tok.length) throw new InvalidArgumentError(`${where}: special tokens must be non-empty strings`);
      const have = this.vocab.get(tok);
      if (id === undefined) {
        if (have === undefined) throw new InvalidArgumentError(`${where}: special token ${JSON.stringify(tok)} is not in the vocabulary; give its id`);
        specials.set(tok, have);
      } else {
        if (!Number.isInteger(id) || id < 0 || id >= PAIR_SHIFT) throw new InvalidArgumentError(`${where}: id of special token ${JSON.stringify(tok)} must be a non-negative integer, got ${String(id)}`);
        if (have !== undefined && have !== id) throw new InvalidArgumentError(`${where}: special token ${JSON.stringify(tok)} has id ${have} in the vocabulary, not ${id}`);
        const other = this.idToTok[id];
        if (other !== undefined && other !== tok) throw new InvalidArgumentError(`${where}: id ${id} of special token ${JSON.stringify(tok)} already belongs to ${JSON.stringify(other)}`);
        this.vocab.set(tok, id);
        this.idToTok[id] = tok;
        specials.set(tok, id);
      }
    }
    this.specialTokens = specials;
    this.specialIds = new Set(specials.values());
    for (let b = 0; b < 256; b++) {
      const id = this.vocab.get(BYTE_TO_UNICODE[b]!);
      if (id === undefined) throw new FormatError('bpe vocab', `byte 0x${b.toString(16).padStart(2, '0')} (${JSON.stringify(BYTE_TO_UNICODE[b])}) is missing; a byte-level vocabulary needs all 256 byte symbols`);
      this.byteIds[b] = id;
    }
    this.mergeList = [];
    (options.merges ?? []).forEach((pair, rank) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new FormatError('bpe merges', `merge ${rank} must be a pair of tokens, got ${JSON.stringify(pair)}`);
      const [a, b] = pair as [string, string];
      const ia = this.vocab.get(a);
      const ib = this.vocab.get(b);
      const ic = this.vocab.get(a + b);
      if (ia === undefined || ib === undefined) throw new FormatError('bpe merges', `merge ${rank} (${JSON.stringify(a)} ${JSON.stringify(b)}) uses a token that is not in the vocabulary`);
      if (ic === undefined) throw new FormatError('bpe merges', `merge ${rank} makes ${JSON.stringify(a + b)}, which is not in the vocabulary`);
      let byRight = this.mergeRank[ia];
      if (!byRight) this.mergeRank[ia] = byRight = new Map();
      // As in GPT-2, a pair listed twice keeps its first (lowest) rank.
      if (!byRight.has(ib)) byRight.set(ib, rank * PAIR_SHIFT + ic);
      this.mergeList.push([a, b]);
    });
    this.maxId = this.idToTok.length - 1;
    this.pattern = options.pattern ?? GPT2_PATTERN;
    try {
      this.regex = compilePattern(this.pattern);
    } catch (err) {
      throw new InvalidArgumentError(`${where}: pattern is not a valid regular expression: ${(err as Error).message}`);
    }
    this.matcher = new SpecialTokenMatcher([...specials.keys()]);
    this.cacheSize = options.cacheSize ?? 50_000;
  }

  /** Number of ids: one more than the largest id (GPT-2: 50257). */
  get vocabSize(): number {
    return this.maxId + 1;
  }

  /** The merge list in rank order (what merges.txt holds). */
  get merges(): readonly (readonly [string, string])[] {
    return this.mergeList;
  }

  /** Token string → id for every token, specials included (what vocab.json holds). */
  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  idToToken(id: number): string | undefined {
    return this.idToTok[id];
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    assertWellFormed(text, 'encode');
    const allowed = this.matcher.allowedSet(options.allowedSpecial, 'encode');
    const out: number[] = [];
    for (const seg of this.matcher.split(text, allowed)) {
      if (seg.special) out.push(this.specialTokens.get(seg.text)!);
      else this.encodeOrdinary(seg.text, out);
    }
    return out;
  }

  tokenize(text: string, options?: EncodeOptions): TokenInfo[] {
    return this.encode(text, options).map((id) => ({ id, token: this.idToTok[id]! }));
  }

  /** Appends the ids of text with no special-token handling. */
  private encodeOrdinary(text: string, out: number[]): void {
    for (const piece of pretokenize(text, this.regex)) {
      const cached = this.cache.get(piece);
      if (cached) {
        for (let i = 0; i < cached.length; i++) out.push(cached[i]!);
        continue;
      }
      const ids = this.bpe(utf8(piece));
      if (this.cacheSize > 0) {
        if (this.cache.size >= this.cacheSize) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  /** Merges the bytes of one pre-token by rank. */
  private bpe(bytes: Uint8Array): number[] {
    if (bytes.length > LONG_PIECE) return this.bpeLong(bytes);
    const sym: number[] = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) sym[i] = this.byteIds[bytes[i]!]!;
    let n = sym.length;
    const table = this.mergeRank;
    while (n > 1) {
      let best = Infinity;
      let bestLeft = -1;
      let bestRight = -1;
      for (let i = 0; i < n - 1; i++) {
        const r = table[sym[i]!]?.get(sym[i + 1]!);
        if (r !== undefined && r < best) {
          best = r;
          bestLeft = sym[i]!;
          bestRight = sym[i + 1]!;
        }
      }
      if (bestLeft < 0) break;
      const merged = best % PAIR_SHIFT;
      // Merge every occurrence of the best pair, left to right, in one pass (as GPT-2 does).
      let w = 0;
      for (let i = 0; i < n; i++) {
        if (i < n - 1 && sym[i] === bestLeft && sym[i + 1] === bestRight) {
          sym[w++] = merged;
          i++;
        } else {
          sym[w++] = sym[i]!;
        }
      }
      n = w;
    }
    sym.length = n;
    return sym;
  }

  /**
   * The same merges for long pieces (e.g. a long run of letters) in O(n log n) instead of O(n²):
   * a linked list of symbols and a min-heap of (rank, position) candidates, stale ones skipped.
   * Equal ranks pop left to right, which is GPT-2's one-pass "merge every occurrence, left to
   * right": a merge never creates a pair of the same rank (each rank names one pair, and the
   * merged token differs from both parts).
   */
  private bpeLong(bytes: Uint8Array): number[] {
    const n = bytes.length;
    const sym = new Int32Array(n);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      sym[i] = this.byteIds[bytes[i]!]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap: number[] = [];
    const push = (key: number) => {
      heap.push(key);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p]! <= key) break;
        heap[i] = heap[p]!;
        i = p;
      }
      heap[i] = key;
    };
    const pop = (): number => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heap.length) break;
          const c = l + 1 < heap.length && heap[l + 1]! < heap[l]! ? l + 1 : l;
          if (heap[c]! >= last) break;
          heap[i] = heap[c]!;
          i = c;
        }
        heap[i] = last;
      }
      return top;
    };
    // key = rank * n + left position: ordered by rank, then position.
    const consider = (left: number) => {
      const right = next[left]!;
      if (right < 0) return;
      const r = this.mergeRank[sym[left]!]?.get(sym[right]!);
      if (r !== undefined) push(Math.floor(r / PAIR_SHIFT) * n + left);
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    const alive = new Uint8Array(n).fill(1);
    while (heap.length) {
      const key = pop();
      const left = key % n;
      const rank = (key - left) / n;
      const right = next[left]!;
      if (!alive[left] || right < 0) continue;
      const r = this.mergeRank[sym[left]!]?.get(sym[right]!);
      if (r === undefined || Math.floor(r / PAIR_SHIFT) !== rank) continue; // stale
      sym[left] = r % PAIR_SHIFT;
      alive[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      if (prev[left]! >= 0) consider(prev[left]!);
      consider(left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(sym[i]!);
    return out;
  }

  /**
   * The bytes that ids stand for. Throws InvalidArgumentError for an id outside the vocabulary.
   * Useful for streaming: a token may end in the middle of a multi-byte character.
   */
  decodeBytes(ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    const pieces: Uint8Array[] = [];
    let total = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const bytes = Number.isInteger(id) ? this.bytesOf(id) : undefined;
      if (bytes === undefined) {
        throw new InvalidArgumentError(`decode: id ${String(id)} at position ${k} is not in the vocabulary (ids are integers in [0, ${this.vocabSize}))`);
      }
      if (options.skipSpecialTokens && this.specialIds.has(id)) continue;
      pieces.push(bytes);
      total += bytes.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private readonly tokenBytes: (Uint8Array | undefined)[] = [];

  /** Bytes of one token: byte-level symbols mapped back, special (or other plain-text) tokens as UTF-8. */
  private bytesOf(id: number): Uint8Array | undefined {
    const hit = this.tokenBytes[id];
    if (hit) return hit;
    const tok = this.idToTok[id];
    if (tok === undefined) return undefined;
    const bytes = (this.specialIds.has(id) ? undefined : unicodeToBytes(tok)) ?? utf8(tok);
    this.tokenBytes[id] = bytes;
    return bytes;
  }

  /**
   * Text of ids. Byte sequences that are not valid UTF-8 (possible only for id sequences that
   * encode did not produce, e.g. a cut in the middle of a character) become U+FFFD, as in GPT-2.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    // ignoreBOM: a leading U+FEFF is text the user encoded, not a byte-order mark to drop.
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.decodeBytes(ids, options));
  }
}
