import { InvalidArgumentError } from '@nutshell/core';
import { BYTE_TO_UNICODE, GPT2_BYTE_ORDER } from './byte-unicode.js';
import { ByteLevelBPETokenizer } from './bpe.js';
import { GPT2_PATTERN, compilePattern, pretokenize } from './pretokenize.js';
import { SpecialTokenMatcher } from './special-tokens.js';
import { assertWellFormed, utf8 } from './unicode.js';

export interface TrainBPEOptions {
  /** Total ids: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, given the last ids in this order (GPT-2 puts `<|endoftext|>` last). Their text in the corpus is cut out before counting. */
  specialTokens?: readonly string[];
  /** A pair must occur at least this often (weighted by word counts) to be merged. Default 2. */
  minFrequency?: number;
  /** Pre-tokenization regex source; default GPT-2's. */
  pattern?: string;
}

const SHIFT = 0x200000;

/** Max-heap of (count, left, right) with the documented tie-break; stale entries are skipped on pop. */
class PairHeap {
  private readonly c: number[] = [];
  private readonly k: number[] = [];
  get size(): number {
    return this.c.length;
  }
  /** a before b: higher count, then smaller pair key (smaller left id, then smaller right id). */
  private before(i: number, j: number): boolean {
    return this.c[i]! > this.c[j]! || (this.c[i] === this.c[j] && this.k[i]! < this.k[j]!);
  }
  private swap(i: number, j: number): void {
    [this.c[i], this.c[j]] = [this.c[j]!, this.c[i]!];
    [this.k[i], this.k[j]] = [this.k[j]!, this.k[i]!];
  }
  push(count: number, key: number): void {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const n = this.c.length;
    if (!n) return undefined;
    const top: [number, number] = [this.c[0]!, this.k[0]!];
    this.swap(0, n - 1);
    this.c.pop();
    this.k.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.c.length && this.before(l, m)) m = l;
      if (r < this.c.length && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/**
 * Trains a byte-level BPE tokenizer (GPT-2 layout) on a corpus.
 *
 * Ids 0–255 are the 256 bytes in GPT-2's order, so every string stays encodable; merged tokens
 * follow in the order they were learned; special tokens take the last ids. Each step merges the
 * adjacent pair with the highest count over the pre-tokenized corpus. **Ties** go to the pair
 * with the smaller left id, then the smaller right id — i.e. to the pair of older tokens — so the
 * result depends only on the corpus and the options, never on hash or insertion order. Training
 * stops at `vocabSize` or when no pair occurs `minFrequency` times. If a merge makes a string that
 * is already a token (two merge paths to the same bytes), the merge is recorded and reuses that id.
 */
export function trainByteLevelBPE(corpus: string | Iterable<string>, options: TrainBPEOptions): ByteLevelBPETokenizer {
  const where = 'trainByteLevelBPE';
  const specials = [...(options.specialTokens ?? [])];
  const minFrequency = options.minFrequency ?? 2;
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < 256 + specials.length || vocabSize >= SHIFT) {
    throw new InvalidArgumentError(`${where}: vocabSize must be an integer in [${256 + specials.length}, ${SHIFT}) (256 bytes + ${specials.length} special tokens), got ${String(vocabSize)}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new InvalidArgumentError(`${where}: minFrequency must be an integer ≥ 1, got ${String(minFrequency)}`);
  if (new Set(specials).size !== specials.length || specials.some((s) => typeof s !== 'string' || !s.length)) {
    throw new InvalidArgumentError(`${where}: specialTokens must be distinct non-empty strings, got ${JSON.stringify(specials)}`);
  }
  const pattern = options.pattern ?? GPT2_PATTERN;
  let regex: RegExp;
  try {
    regex = compilePattern(pattern);
  } catch (err) {
    throw new InvalidArgumentError(`${where}: pattern is not a valid regular expression: ${(err as Error).message}`);
  }

  // 1. Word counts over the pre-tokenized corpus, special tokens cut out.
  const matcher = new SpecialTokenMatcher(specials);
  const allowed = new Set(specials);
  const wordCounts = new Map<string, number>();
  const texts = typeof corpus === 'string' ? [corpus] : corpus;
  for (const text of texts) {
    assertWellFormed(text, where);
    for (const seg of matcher.split(text, allowed)) {
      if (seg.special) continue;
      for (const piece of pretokenize(seg.text, regex)) wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1);
    }
  }

  // 2. Byte tokens in GPT-2 order.
  const tokens: string[] = GPT2_BYTE_ORDER.map((b) => BYTE_TO_UNICODE[b]!);
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const byteId = new Int32Array(256);
  GPT2_BYTE_ORDER.forEach((b, i) => (byteId[b] = i));

  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, count] of wordCounts) {
    const bytes = utf8(piece);
    if (bytes.length < 2) continue; // a single byte has no pair to merge
    words.push(Array.from(bytes, (b) => byteId[b]!));
    freq.push(count);
  }

  // 3. Pair counts and where each pair occurs.
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const add = (key: number, w: number, delta: number) => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + delta);
    if (delta > 0) {
      let set = pairWords.get(key);
      if (!set) pairWords.set(key, (set = new Set()));
      set.add(w);
    }
  };
  words.forEach((word, w) => {
    for (let i = 0; i < word.length - 1; i++) add(word[i]! * SHIFT + word[i + 1]!, w, freq[w]!);
  });
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  // 4. Merge until the vocabulary is full.
  const merges: [string, string][] = [];
  const target = vocabSize - specials.length;
  while (tokens.length < target) {
    let top = heap.pop();
    while (top && pairCount.get(top[1]) !== top[0]) top = heap.pop();
    if (!top || top[0] < minFrequency || top[0] <= 0) break;
    const key = top[1];
    const a = Math.floor(key / SHIFT);
    const b = key % SHIFT;
    const str = tokens[a]! + tokens[b]!;
    let c = idOf.get(str);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(str);
      idOf.set(str, c);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    const changed = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      const word = words[w]!;
      const f = freq[w]!;
      let has = false;
      for (let i = 0; i < word.length - 1; i++) if (word[i] === a && word[i + 1] === b) has = true;
      if (!has) continue;
      for (let i = 0; i < word.length - 1; i++) {
        const k = word[i]! * SHIFT + word[i + 1]!;
        add(k, w, -f);
        changed.add(k);
      }
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(c);
          i++;
        } else next.push(word[i]!);
      }
      words[w] = next;
      for (let i = 0; i < next.length - 1; i++) {
        const k = next[i]! * SHIFT + next[i + 1]!;
        add(k, w, f);
        changed.add(k);
      }
    }
    pairWords.delete(key);
    for (const k of changed) {
      const count = pairCount.get(k)!;
      if (count > 0) heap.push(count, k);
      else pairCount.delete(k);
    }
  }

  const vocab = new Map(idOf);
  const specialIds: Record<string, number> = {};
  specials.forEach((s, i) => {
    if (vocab.has(s)) throw new InvalidArgumentError(`${where}: special token ${JSON.stringify(s)} is also a learned byte-level token; choose another`);
    specialIds[s] = tokens.length + i;
  });
  return new ByteLevelBPETokenizer({ vocab, merges, specialTokens: specialIds, pattern });
}
