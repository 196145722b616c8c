import { FormatError } from '@nutshell/core';
import { ByteLevelBPETokenizer } from './bpe.js';
import { GPT2_PATTERN } from './pretokenize.js';

/**
 * The files GPT-2 and Hugging Face use for byte-level BPE: `vocab.json` (token → id), `merges.txt`
 * (a `#version` line, then one "left right" merge per line in rank order) and the BPE form of
 * `tokenizer.json`. Parsing errors are FormatErrors that name the file and the line or key.
 */

/** Parses vocab.json text into token → id. */
export function parseVocabJson(text: string): Map<string, number> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FormatError('vocab.json', `not valid JSON: ${(err as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new FormatError('vocab.json', 'expected a JSON object mapping token strings to ids');
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(data as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new FormatError('vocab.json', `id of ${JSON.stringify(tok)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    vocab.set(tok, id);
  }
  return vocab;
}

/** Parses merges.txt text into [left, right] pairs in rank order. */
export function parseMergesTxt(text: string): [string, string][] {
  if (typeof text !== 'string') throw new FormatError('merges.txt', 'expected text');
  const lines = text.split(/\r?\n/);
  const merges: [string, string][] = [];
  lines.forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new FormatError('merges.txt', `line ${i + 1} must be two tokens separated by one space, got ${JSON.stringify(line.slice(0, 60))}`);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/**
 * vocab.json text with entries in id order. Written by hand because a JS object would move
 * integer-like keys ("0", "10", …) to the front.
 */
export function formatVocabJson(vocab: ReadonlyMap<string, number>): string {
  const sorted = [...vocab.entries()].sort((a, b) => a[1] - b[1]);
  return `{${sorted.map(([tok, id]) => `${JSON.stringify(tok)}: ${id}`).join(', ')}}`;
}

/** merges.txt text with GPT-2's `#version: 0.2` header. */
export function formatMergesTxt(merges: readonly (readonly [string, string])[]): string {
  for (const [a, b] of merges) {
    if (a.includes(' ') || b.includes(' ') || /[\r\n]/.test(a + b)) throw new FormatError('merges.txt', `token ${JSON.stringify(a + ' ' + b)} cannot be written: merges.txt tokens may not hold spaces or newlines`);
  }
  return `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join('\n')}\n`;
}

/** A tokenizer from the text of vocab.json and merges.txt. Special tokens default to `<|endoftext|>` when the vocabulary has it. */
export function bpeFromVocabMerges(
  vocabJson: string,
  mergesTxt: string,
  options: { specialTokens?: readonly string[]; pattern?: string } = {},
): ByteLevelBPETokenizer {
  const vocab = parseVocabJson(vocabJson);
  const merges = parseMergesTxt(mergesTxt);
  const specialTokens = options.specialTokens ?? (vocab.has('<|endoftext|>') ? ['<|endoftext|>'] : []);
  return new ByteLevelBPETokenizer({ vocab, merges, specialTokens, pattern: options.pattern });
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Reads the pre-tokenization pattern out of a tokenizer.json pre_tokenizer, or explains what is unsupported. */
function patternOf(pre: unknown): string {
  const fail = (msg: string): never => {
    throw new FormatError('tokenizer.json', `pre_tokenizer: ${msg}; supported: ByteLevel (add_prefix_space false), or a Sequence of a Split regex and ByteLevel with use_regex false`);
  };
  if (!isObject(pre)) return fail(`expected an object, got ${JSON.stringify(pre)}`);
  if (pre.type === 'ByteLevel') {
    if (pre.add_prefix_space === true) fail('add_prefix_space true is not supported (it would make decode(encode(s)) differ from s)');
    if (pre.use_regex === false) fail('ByteLevel with use_regex false on its own');
    return GPT2_PATTERN;
  }
  if (pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) && pre.pretokenizers.length === 2) {
    const [split, byteLevel] = pre.pretokenizers as unknown[];
    if (isObject(split) && split.type === 'Split' && isObject(split.pattern) && typeof split.pattern.Regex === 'string' && isObject(byteLevel) && byteLevel.type === 'ByteLevel' && byteLevel.use_regex === false && byteLevel.add_prefix_space !== true) {
      return split.pattern.Regex;
    }
  }
  return fail(`type ${JSON.stringify(pre.type)} in this form`);
}

/** A tokenizer from the text of a Hugging Face tokenizer.json whose model is byte-level BPE (GPT-2, RoBERTa-style). */
export function bpeFromTokenizerJson(text: string): ByteLevelBPETokenizer {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FormatError('tokenizer.json', `not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(data) || !isObject(data.model)) throw new FormatError('tokenizer.json', 'expected an object with a "model" object');
  const model = data.model;
  if (model.type !== undefined && model.type !== 'BPE') throw new FormatError('tokenizer.json', `model.type must be "BPE", got ${JSON.stringify(model.type)}`);
  if (!isObject(model.vocab)) throw new FormatError('tokenizer.json', 'model.vocab must be an object mapping tokens to ids');
  if (!Array.isArray(model.merges)) throw new FormatError('tokenizer.json', 'model.merges must be an array');
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[key] !== undefined && model[key] !== null && model[key] !== '') throw new FormatError('tokenizer.json', `model.${key} ${JSON.stringify(model[key])} is not supported for byte-level BPE`);
  }
  if (model.ignore_merges === true) throw new FormatError('tokenizer.json', 'model.ignore_merges true is not supported');
  if (data.normalizer !== undefined && data.normalizer !== null) throw new FormatError('tokenizer.json', 'a normalizer is not supported for byte-level BPE (GPT-2 has none)');
  const pattern = patternOf(data.pre_tokenizer);
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new FormatError('tokenizer.json', `model.vocab: id of ${JSON.stringify(tok)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    vocab.set(tok, id);
  }
  const merges: [string, string][] = model.merges.map((m: unknown, i: number) => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return [m[0], m[1]];
    }
    throw new FormatError('tokenizer.json', `model.merges[${i}] must be "left right" or [left, right], got ${JSON.stringify(m)}`);
  });
  const specialTokens: Record<string, number> = {};
  const added = data.added_tokens ?? [];
  if (!Array.isArray(added)) throw new FormatError('tokenizer.json', 'added_tokens must be an array');
  added.forEach((t: unknown, i: number) => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0) {
      throw new FormatError('tokenizer.json', `added_tokens[${i}] must have a string "content" and an integer "id"`);
    }
    if (t.special === false) {
      // A non-special added token: a plain vocabulary entry (it is not matched atomically here).
      if (!vocab.has(t.content)) vocab.set(t.content, t.id);
    } else {
      specialTokens[t.content] = t.id;
    }
  });
  try {
    return new ByteLevelBPETokenizer({ vocab, merges, specialTokens, pattern });
  } catch (err) {
    if (err instanceof FormatError) throw new FormatError('tokenizer.json', err.message);
    throw err;
  }
}

/** tokenizer.json text (Hugging Face `tokenizers` format, GPT-2's layout) for a byte-level BPE tokenizer. */
export function formatTokenizerJson(tokenizer: ByteLevelBPETokenizer): string {
  const vocab = tokenizer.getVocab();
  const specials = [...tokenizer.specialTokens.entries()].sort((a, b) => a[1] - b[1]);
  const byteLevel = (addPrefixSpace: boolean, useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex });
  const preTokenizer =
    tokenizer.pattern === GPT2_PATTERN
      ? byteLevel(false, true)
      : { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: tokenizer.pattern }, behavior: 'Isolated', invert: false }, byteLevel(false, false)] };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: { ...byteLevel(true, true), trim_offsets: false },
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: VOCAB_PLACEHOLDER,
      merges: tokenizer.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return JSON.stringify(json, null, 2).replace(JSON.stringify(VOCAB_PLACEHOLDER), () => formatVocabJson(vocab));
}

const VOCAB_PLACEHOLDER = '\u0000vocab in id order\u0000';
