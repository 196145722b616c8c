/**
 * The GPT-2 test oracle: js-tiktoken ships GPT-2's r50k ranks (token bytes → rank = GPT-2 id) in a
 * compressed text form: lines "! <first rank> <base64 token> <base64 token> …", ranks counting up.
 * From them we derive GPT-2's vocab.json + merges.txt (see vocabMergesFromRanks for why merges are
 * recoverable) and compare our ids with js-tiktoken's own encoder.
 */
import gpt2 from 'js-tiktoken/ranks/gpt2';
import { Tiktoken } from 'js-tiktoken/lite';
import { bpeFromRanks, type ByteLevelBPETokenizer } from '@nutshell/transformer';

export function gpt2Ranks(): [Uint8Array, number][] {
  const out: [Uint8Array, number][] = [];
  for (const line of gpt2.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(' ');
    tokens.forEach((t, i) => out.push([Uint8Array.from(atob(t), (c) => c.charCodeAt(0)), Number(offset) + i]));
  }
  return out;
}

export const GPT2_SPECIALS: Record<string, number> = gpt2.special_tokens;

let cached: ByteLevelBPETokenizer | undefined;
/** GPT-2's tokenizer rebuilt from the ranks (built once per test file). */
export function gpt2Tokenizer(): ByteLevelBPETokenizer {
  cached ??= bpeFromRanks(gpt2Ranks(), { specialTokens: GPT2_SPECIALS });
  return cached;
}

export const oracle = new Tiktoken(gpt2);

/** The oracle's ids with special-token text treated as ordinary text. */
export function oracleOrdinary(text: string): number[] {
  return oracle.encode(text, [], []);
}

export const DATA_DIR = process.env.NUTSHELL_DATA_DIR ?? '/work/shared/datasets';
