import { InvalidArgumentError } from '@nutshell/core';
import { BYTE_TO_UNICODE, GPT2_BYTE_ORDER } from './byte-unicode.js';
import { ByteLevelBPETokenizer } from './bpe.js';
import { MAX_PAIR_ID, PairMerger } from './pair-merger.js';
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
  if (!Number.isInteger(vocabSize) || vocabSize < 256 + specials.length || vocabSize >= MAX_PAIR_ID) {
    throw new InvalidArgumentError(`${where}: vocabSize must be an integer in [${256 + specials.length}, ${MAX_PAIR_ID}) (256 bytes + ${specials.length} special tokens), got ${String(vocabSize)}`);
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

  // 3. Merge the most frequent pair until the vocabulary is full.
  const merger = new PairMerger(words, freq);
  const merges: [string, string][] = [];
  const target = vocabSize - specials.length;
  while (tokens.length < target) {
    const pair = merger.best(minFrequency);
    if (!pair) break;
    const { left: a, right: b } = pair;
    const str = tokens[a]! + tokens[b]!;
    let c = idOf.get(str);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(str);
      idOf.set(str, c);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    merger.merge(a, b, c);
  }

  const vocab = new Map(idOf);
  const specialIds: Record<string, number> = {};
  specials.forEach((s, i) => {
    if (vocab.has(s)) throw new InvalidArgumentError(`${where}: special token ${JSON.stringify(s)} is also a learned byte-level token; choose another`);
    specialIds[s] = tokens.length + i;
  });
  return new ByteLevelBPETokenizer({ vocab, merges, specialTokens: specialIds, pattern });
}
