import type { TextTokenizer } from '@nutshell/core';
import type { AllowedSpecial } from './special-tokens.js';

export interface EncodeOptions {
  /**
   * Special tokens (e.g. `<|endoftext|>`) that become their single id when they appear in the
   * text; the rest are tokenized as ordinary text. Default 'all' (as Hugging Face tokenizers do);
   * pass 'none' for untrusted text (tiktoken's `encode_ordinary`).
   */
  allowedSpecial?: AllowedSpecial;
}

export interface DecodeOptions {
  /** Leave special tokens out of the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** A token id with the token's vocabulary string, as `tokenize` and the CLI report them. */
export interface TokenInfo {
  id: number;
  token: string;
}

/** What every nutshell tokenizer offers, beyond core's TextTokenizer contract. */
export interface Tokenizer extends TextTokenizer {
  /** 'char', 'byte-bpe' or 'wordpiece'. */
  readonly kind: string;
  readonly vocabSize: number;
  /** Special token text → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** Ids together with their vocabulary strings. */
  tokenize(text: string, options?: EncodeOptions): TokenInfo[];
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
}
