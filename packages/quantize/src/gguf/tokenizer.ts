import { FormatError, InvalidArgumentError, describe } from '@nutshell/core';
import { gguf, type GgufValue } from './values.js';

/** llama.cpp's token types (gguf-py `TokenType`), stored in tokenizer.ggml.token_type. */
export const GGUF_TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Metadata keys of a GGML BPE tokenizer (gguf-py `Keys.Tokenizer`). */
export const GGUF_TOKENIZER_KEYS = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  tokenType: 'tokenizer.ggml.token_type',
  merges: 'tokenizer.ggml.merges',
  bosTokenId: 'tokenizer.ggml.bos_token_id',
  eosTokenId: 'tokenizer.ggml.eos_token_id',
  unknownTokenId: 'tokenizer.ggml.unknown_token_id',
  paddingTokenId: 'tokenizer.ggml.padding_token_id',
} as const;

/**
 * A GPT-2 style byte-level BPE tokenizer as plain data: Hugging Face's vocab.json (token → id) and
 * merges.txt lines ("a b") or pairs. No dependency on the tokenizer implementation.
 */
export interface BpeTokenizerData {
  vocab: Record<string, number> | ReadonlyMap<string, number>;
  merges: readonly (string | readonly [string, string])[];
  /** Default: the id of `<|endoftext|>` when the vocab has it. */
  bosTokenId?: number;
  /** Default: the id of `<|endoftext|>` when the vocab has it. */
  eosTokenId?: number;
  unknownTokenId?: number;
  paddingTokenId?: number;
  /** Tokens typed CONTROL (default: `<|endoftext|>` when present). */
  specialTokens?: readonly string[];
  /** Tokens typed USER_DEFINED (added tokens that are not special). */
  userDefinedTokens?: readonly string[];
  /** The model's vocabulary size: ids without a token become `[PAD{id}]`, typed UNUSED (as llama.cpp's converter). */
  vocabSize?: number;
  /** tokenizer.ggml.pre, the pre-tokenizer llama.cpp applies (default 'gpt-2'; null to omit). */
  pre?: string | null;
}

const EOT = '<|endoftext|>';

function entries(vocab: BpeTokenizerData['vocab']): [string, number][] {
  if (vocab instanceof Map) return [...vocab];
  if (!vocab || typeof vocab !== 'object') throw new InvalidArgumentError(`tokenizer vocab must be a token → id object or Map, got ${describe(vocab)}`);
  return Object.entries(vocab as Record<string, number>);
}

function checkId(id: number | undefined, n: number, what: string): void {
  if (id !== undefined && (!Number.isInteger(id) || id < 0 || id >= n)) throw new InvalidArgumentError(`${what} must be a token id in [0, ${n}), got ${describe(id)}`);
}

/**
 * The llama.cpp metadata of a GPT-2 BPE tokenizer, typed as gguf-py writes it: model (STRING),
 * pre (STRING), tokens (ARRAY of STRING, by id), token_type (ARRAY of INT32), merges (ARRAY of
 * STRING "a b"), bos/eos/unknown/padding ids (UINT32).
 */
export function gpt2TokenizerMetadata(t: BpeTokenizerData): Record<string, GgufValue> {
  const list = entries(t.vocab);
  let n = 0;
  for (const [tok, id] of list) {
    if (typeof tok !== 'string' || !Number.isInteger(id) || id < 0) throw new InvalidArgumentError(`tokenizer vocab: '${tok}' has id ${describe(id)}, expected a non-negative integer`);
    n = Math.max(n, id + 1);
  }
  if (t.vocabSize !== undefined) {
    if (!Number.isInteger(t.vocabSize) || t.vocabSize < n) throw new InvalidArgumentError(`tokenizer vocabSize must be an integer ≥ ${n} (the largest id + 1), got ${describe(t.vocabSize)}`);
    n = t.vocabSize;
  }
  if (n === 0) throw new InvalidArgumentError('tokenizer vocab is empty');
  const tokens = new Array<string | undefined>(n);
  for (const [tok, id] of list) {
    if (tokens[id] !== undefined) throw new InvalidArgumentError(`tokenizer vocab: id ${id} is used by both '${tokens[id]}' and '${tok}'`);
    tokens[id] = tok;
  }
  const byToken = new Map(list);
  const special = new Set(t.specialTokens ?? (byToken.has(EOT) ? [EOT] : []));
  const user = new Set(t.userDefinedTokens ?? []);
  const types: number[] = [];
  const out: string[] = [];
  for (let id = 0; id < n; id++) {
    const tok = tokens[id];
    if (tok === undefined) {
      out.push(`[PAD${id}]`);
      types.push(GGUF_TOKEN_TYPE.UNUSED);
      continue;
    }
    out.push(tok);
    types.push(special.has(tok) ? GGUF_TOKEN_TYPE.CONTROL : user.has(tok) ? GGUF_TOKEN_TYPE.USER_DEFINED : GGUF_TOKEN_TYPE.NORMAL);
  }
  for (const s of [...special, ...user]) if (!byToken.has(s)) throw new InvalidArgumentError(`tokenizer: special / user-defined token '${s}' is not in the vocab`);
  if (!Array.isArray(t.merges)) throw new InvalidArgumentError(`tokenizer merges must be an array, got ${describe(t.merges)}`);
  const merges = t.merges.map((m, i) => {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((p) => typeof p !== 'string' || p === '')) {
      throw new InvalidArgumentError(`tokenizer merges[${i}] must be "a b" or [a, b], got ${describe(m)}`);
    }
    return `${pair[0]} ${pair[1]}`;
  });
  const eot = byToken.get(EOT);
  const bos = t.bosTokenId ?? eot;
  const eos = t.eosTokenId ?? eot;
  checkId(bos, n, 'bosTokenId');
  checkId(eos, n, 'eosTokenId');
  checkId(t.unknownTokenId, n, 'unknownTokenId');
  checkId(t.paddingTokenId, n, 'paddingTokenId');
  const K = GGUF_TOKENIZER_KEYS;
  const meta: Record<string, GgufValue> = { [K.model]: gguf.string('gpt2') };
  const pre = t.pre === undefined ? 'gpt-2' : t.pre;
  if (pre !== null) meta[K.pre] = gguf.string(pre);
  meta[K.tokens] = gguf.array('STRING', out);
  meta[K.tokenType] = gguf.array('INT32', types);
  meta[K.merges] = gguf.array('STRING', merges);
  if (bos !== undefined) meta[K.bosTokenId] = gguf.u32(bos);
  if (eos !== undefined) meta[K.eosTokenId] = gguf.u32(eos);
  if (t.unknownTokenId !== undefined) meta[K.unknownTokenId] = gguf.u32(t.unknownTokenId);
  if (t.paddingTokenId !== undefined) meta[K.paddingTokenId] = gguf.u32(t.paddingTokenId);
  return meta;
}

/** A GGML BPE tokenizer read back from GGUF metadata. */
export interface GgufTokenizer {
  model: string;
  pre?: string;
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  /** token → id (UNUSED `[PAD…]` entries left out). */
  vocab: Map<string, number>;
  bosTokenId?: number;
  eosTokenId?: number;
  unknownTokenId?: number;
  paddingTokenId?: number;
}

const bad = (m: string): never => {
  throw new FormatError('gguf', `tokenizer metadata: ${m}`);
};

function strings(v: GgufValue | undefined, key: string, required: boolean): string[] | undefined {
  if (v === undefined) return required ? bad(`'${key}' is missing`) : undefined;
  if (v.type !== 'ARRAY' || v.itemType !== 'STRING') return bad(`'${key}' must be an ARRAY of STRING, got ${v.type === 'ARRAY' ? `ARRAY of ${v.itemType}` : v.type}`);
  return v.value as string[];
}

function u32(v: GgufValue | undefined, key: string, n: number): number | undefined {
  if (v === undefined) return undefined;
  if (v.type !== 'UINT32') return bad(`'${key}' must be UINT32, got ${v.type}`);
  if (v.value >= n) return bad(`'${key}' = ${v.value} is not a token id (${n} tokens)`);
  return v.value;
}

/** Reads tokenizer.ggml.* back (null when the file has no tokenizer.ggml.model); checks the types. */
export function readGgufTokenizer(metadata: Record<string, GgufValue>): GgufTokenizer | null {
  const K = GGUF_TOKENIZER_KEYS;
  const model = metadata[K.model];
  if (model === undefined) return null;
  if (model.type !== 'STRING') return bad(`'${K.model}' must be a STRING, got ${model.type}`);
  const tokens = strings(metadata[K.tokens], K.tokens, true)!;
  const tt = metadata[K.tokenType];
  let tokenTypes: number[];
  if (tt === undefined) tokenTypes = tokens.map(() => GGUF_TOKEN_TYPE.NORMAL);
  else if (tt.type !== 'ARRAY' || tt.itemType !== 'INT32') return bad(`'${K.tokenType}' must be an ARRAY of INT32`);
  else tokenTypes = tt.value as number[];
  if (tokenTypes.length !== tokens.length) bad(`${tokenTypes.length} token types for ${tokens.length} tokens`);
  const merges = strings(metadata[K.merges], K.merges, false) ?? [];
  const pre = metadata[K.pre];
  if (pre !== undefined && pre.type !== 'STRING') bad(`'${K.pre}' must be a STRING, got ${pre.type}`);
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (tokenTypes[i] !== GGUF_TOKEN_TYPE.UNUSED) vocab.set(t, i);
  });
  const n = tokens.length;
  const out: GgufTokenizer = { model: model.value, tokens, tokenTypes, merges, vocab };
  if (pre) out.pre = pre.value as string;
  const ids = { bosTokenId: K.bosTokenId, eosTokenId: K.eosTokenId, unknownTokenId: K.unknownTokenId, paddingTokenId: K.paddingTokenId } as const;
  for (const [field, key] of Object.entries(ids) as [keyof typeof ids, string][]) {
    const id = u32(metadata[key], key, n);
    if (id !== undefined) out[field] = id;
  }
  return out;
}
