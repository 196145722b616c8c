import { FormatError } from '@nutshell/core';
import { bytesToUnicode } from './byte-unicode.js';
import { ByteLevelBPETokenizer } from './bpe.js';

/**
 * tiktoken-style "mergeable ranks" (token bytes → rank, as in `r50k_base.tiktoken`) turned into
 * GPT-2's vocab.json + merges.txt form.
 *
 * Why this is recoverable: in a BPE vocabulary, token ids are ranks, and the token of rank r was
 * made by merge number r − 256 from two tokens of lower rank. To find those two, run BPE on the
 * token's own bytes using only tokens of rank < r (always merging the adjacent pair whose
 * concatenation has the lowest rank, as tiktoken encodes): it stops at exactly two pieces, and
 * they are the merge's left and right parts. Single-byte tokens are the 256 base symbols.
 */
export function vocabMergesFromRanks(ranks: Iterable<readonly [Uint8Array, number]>): { vocab: Map<string, number>; merges: [string, string][] } {
  const entries = [...ranks].map(([bytes, rank]) => [bytesToUnicode(bytes), rank, bytes.length] as const);
  entries.sort((a, b) => a[1] - b[1]);
  const rankOf = new Map<string, number>();
  for (const [tok, rank] of entries) {
    if (!Number.isInteger(rank) || rank < 0) throw new FormatError('bpe ranks', `rank of ${JSON.stringify(tok)} must be a non-negative integer, got ${String(rank)}`);
    if (rankOf.has(tok)) throw new FormatError('bpe ranks', `token ${JSON.stringify(tok)} is listed twice`);
    rankOf.set(tok, rank);
  }
  const merges: [string, string][] = [];
  for (const [tok, rank, nBytes] of entries) {
    if (nBytes === 1) continue;
    const parts = tok.split('');
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = rankOf.get(parts[i]! + parts[i + 1]!);
        if (r !== undefined && r < rank && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      parts.splice(at, 2, parts[at]! + parts[at + 1]!);
    }
    if (parts.length !== 2) {
      throw new FormatError('bpe ranks', `token of rank ${rank} (${JSON.stringify(tok)}) is not a merge of two lower-ranked tokens (BPE of its bytes gives ${parts.length} pieces)`);
    }
    merges.push([parts[0]!, parts[1]!]);
  }
  return { vocab: rankOf, merges };
}

/** A GPT-2-style tokenizer from tiktoken ranks plus special tokens (e.g. `{ '<|endoftext|>': 50256 }`). */
export function bpeFromRanks(
  ranks: Iterable<readonly [Uint8Array, number]>,
  options: { specialTokens?: Readonly<Record<string, number>>; pattern?: string } = {},
): ByteLevelBPETokenizer {
  const { vocab, merges } = vocabMergesFromRanks(ranks);
  return new ByteLevelBPETokenizer({ vocab, merges, specialTokens: options.specialTokens ?? {}, pattern: options.pattern });
}

/**
 * Parses a `.tiktoken` rank file's text: one "base64(token bytes) rank" per line.
 */
export function parseTiktokenRanks(text: string): [Uint8Array, number][] {
  const out: [Uint8Array, number][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const m = /^([A-Za-z0-9+/=]+) (\d+)$/.exec(line.trim());
    if (!m) throw new FormatError('tiktoken ranks', `line ${i + 1} must be "base64 rank", got ${JSON.stringify(line.slice(0, 60))}`);
    let binary: string;
    try {
      binary = atob(m[1]!);
    } catch {
      throw new FormatError('tiktoken ranks', `line ${i + 1}: ${JSON.stringify(m[1])} is not valid base64`);
    }
    out.push([Uint8Array.from(binary, (ch) => ch.charCodeAt(0)), Number(m[2])]);
  });
  return out;
}
