import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError, NutshellError } from '@nutshell/core';
import {
  GPT2_BYTE_ORDER,
  bpeFromTokenizerJson,
  bpeFromVocabMerges,
  formatMergesTxt,
  formatTokenizerJson,
  formatVocabJson,
  loadBPEFiles,
  loadTokenizer,
  pretokenize,
  saveTokenizer,
  vocabMergesFromRanks,
} from '@nutshell/transformer';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_DIR, gpt2Tokenizer, oracle, oracleOrdinary } from './gpt2-oracle.js';

const tok = gpt2Tokenizer();
const fixture = readFileSync(join(import.meta.dirname, 'fixtures/multilingual.txt'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'nutshell-gpt2-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** U+0085 and U+FEFF are the two characters where JavaScript's \s (used by js-tiktoken) differs from Unicode White_Space (GPT-2's Python regex, tiktoken's Rust). */
const JS_WHITESPACE_DIFF = /[\u0085\ufeff]/;

function tinyShakespeare(): string | undefined {
  const candidates = [join(DATA_DIR, 'tinyshakespeare/input.txt'), join(import.meta.dirname, '../../../../shared/datasets/tinyshakespeare/input.txt')];
  const path = candidates.find((p) => existsSync(p));
  return path ? readFileSync(path, 'utf8') : undefined;
}

describe('GPT-2 vocabulary from the r50k ranks', () => {
  it('has GPT-2 sizes and the first merges of GPT-2 merges.txt', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.merges.length).toBe(50000);
    expect(tok.merges.slice(0, 5)).toEqual([['Ġ', 't'], ['Ġ', 'a'], ['h', 'e'], ['i', 'n'], ['r', 'e']]);
    expect(tok.tokenToId('<|endoftext|>')).toBe(50256);
    expect(tok.tokenToId('Ġthe')).toBe(262);
    expect(tok.tokenToId('!')).toBe(0);
    // The 256 byte tokens take ids 0..255 in GPT-2's byte order.
    expect(GPT2_BYTE_ORDER.slice(0, 3)).toEqual([0x21, 0x22, 0x23]);
    expect(tok.tokenToId('Ġ')).toBe(220);
    expect(tok.tokenToId('Ċ')).toBe(198);
  });

  it('gives the well-known GPT-2 ids', () => {
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.encode(' the')).toEqual([262]);
    expect(tok.encode('<|endoftext|>')).toEqual([50256]);
  });

  it('rejects ranks that are not merges of lower ranks', () => {
    const ranks: [Uint8Array, number][] = [...Array(256).keys()].map((b) => [new Uint8Array([b]), b]);
    ranks.push([new Uint8Array([97, 98, 99]), 256]); // "abc" with no "ab" or "bc" below it
    expect(() => vocabMergesFromRanks(ranks)).toThrow(FormatError);
    expect(() => vocabMergesFromRanks(ranks)).toThrow(/rank 256/);
  });
});

describe('ids identical to GPT-2 (js-tiktoken oracle)', () => {
  it('on the multilingual / emoji / whitespace edge-case text, line by line and whole', () => {
    const lines = fixture.split('\n');
    let compared = 0;
    for (const line of [...lines, fixture]) {
      expect(tok.encode(line, { allowedSpecial: 'none' })).toEqual(oracleOrdinary(line));
      expect(tok.encode(line)).toEqual(oracle.encode(line, 'all'));
      expect(tok.decode(tok.encode(line))).toBe(line);
      compared++;
    }
    expect(compared).toBe(lines.length + 1);
  });

  it('on tiny Shakespeare (whole file) when the data folder is present', (ctx) => {
    const text = tinyShakespeare();
    if (!text) return ctx.skip();
    const ids = tok.encode(text);
    expect(ids.length).toBe(338025);
    expect(ids).toEqual(oracle.encode(text));
    expect(tok.decode(ids)).toBe(text);
  });

  it('property: random Unicode strings give the oracle ids and decode back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const ids = tok.encode(s, { allowedSpecial: 'none' });
        // decode∘encode is the identity for every string; ids are compared where js-tiktoken's \s agrees with Unicode's.
        expect(tok.decode(ids)).toBe(s);
        if (!JS_WHITESPACE_DIFF.test(s)) expect(ids).toEqual(oracleOrdinary(s));
      }),
      { numRuns: 400, seed: 5 },
    );
  });

  it('property: strings built from the pattern’s tricky parts (spaces, apostrophes, digits, marks, emoji)', () => {
    const parts = [' ', '  ', '\n', '\t', '\r\n', "'", "'s", "'ll", "'S", 'a', 'Z', 'é', 'e\u0301', '1', '42', '!', '?!', '.', '😀', '👩‍👧', '中', 'ж', '\u00a0', '\u3000', '\u200b', '<|endoftext|>'];
    const str = fc.array(fc.constantFrom(...parts), { maxLength: 30 }).map((a) => a.join(''));
    fc.assert(
      fc.property(str, (s) => {
        expect(tok.encode(s)).toEqual(oracle.encode(s, 'all'));
        expect(tok.encode(s, { allowedSpecial: 'none' })).toEqual(oracleOrdinary(s));
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it('property: grapheme clusters (combining sequences, ZWJ emoji) round-trip and match', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (s) => {
        fc.pre(!JS_WHITESPACE_DIFF.test(s));
        expect(tok.encode(s, { allowedSpecial: 'none' })).toEqual(oracleOrdinary(s));
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  it('property: long pieces (the O(n log n) merge path) give the oracle ids', () => {
    const alphabets = ['ab', 'a', 'aab', 'thequickbrownfox', 'eé中😀', '!?.-', '0123456789', 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'];
    const long = fc
      .tuple(fc.constantFrom(...alphabets), fc.integer({ min: 65, max: 600 }), fc.integer())
      .map(([alpha, n, seed]) => {
        const chars = Array.from(alpha);
        let x = seed >>> 0;
        let out = '';
        for (let i = 0; i < n; i++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          out += chars[(x >>> 8) % chars.length];
        }
        return out;
      });
    fc.assert(
      fc.property(long, (s) => {
        const ids = tok.encode(s);
        expect(ids).toEqual(oracle.encode(s));
        expect(tok.decode(ids)).toBe(s);
      }),
      { numRuns: 60, seed: 13 },
    );
  });

  it('treats U+0085 as whitespace and U+FEFF as a symbol, as Unicode White_Space (GPT-2’s Python regex) does', () => {
    expect(pretokenize('a \u0085b')).toEqual(['a', ' ', '\u0085', 'b']);
    expect(pretokenize('a \ufeffb')).toEqual(['a', ' \ufeff', 'b']);
    for (const s of ['a \u0085b', '\ufeff hi', '\ufeff', 'x\u0085\u0085 y']) expect(tok.decode(tok.encode(s))).toBe(s);
  });
});

describe('special tokens, errors and decoding', () => {
  it('special tokens are atomic when allowed and plain text otherwise', () => {
    const s = 'a<|endoftext|>b';
    expect(tok.encode(s)).toEqual([64, 50256, 65]);
    expect(tok.encode(s, { allowedSpecial: ['<|endoftext|>'] })).toEqual([64, 50256, 65]);
    const plain = tok.encode(s, { allowedSpecial: 'none' });
    expect(plain).not.toContain(50256);
    expect(plain).toEqual(oracleOrdinary(s));
    expect(tok.decode(plain)).toBe(s);
    expect(tok.decode([64, 50256, 65], { skipSpecialTokens: true })).toBe('ab');
    expect(() => tok.encode(s, { allowedSpecial: ['<|im_start|>'] })).toThrow(InvalidArgumentError);
  });

  it('rejects lone surrogates with a typed error', () => {
    for (const bad of ['\ud800', 'a\udc00b', 'x\ud83d', '\ude00\ud83d', 'ok 😀 then \udfff']) {
      let error: unknown;
      try {
        tok.encode(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toBeInstanceOf(NutshellError);
      expect((error as NutshellError).code).toBe('E_ARGUMENT');
      expect((error as Error).message).toMatch(/lone surrogate U\+D[89A-F][0-9A-F]{2} at index \d+/);
    }
    expect(tok.decode(tok.encode('\ud83d\ude00'))).toBe('😀');
  });

  it('property: a lone surrogate anywhere is rejected; well-formed text never is', () => {
    const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 10 }), lone, fc.string({ unit: 'binary', maxLength: 10 }), (a, s, b) => {
        const text = a + s + b;
        const wellFormed = (text as unknown as { isWellFormed(): boolean }).isWellFormed();
        if (wellFormed) expect(tok.decode(tok.encode(text))).toBe(text);
        else expect(() => tok.encode(text)).toThrow(InvalidArgumentError);
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('decode: unknown ids are typed errors; cut characters become U+FFFD', () => {
    expect(() => tok.decode([50257])).toThrow(InvalidArgumentError);
    expect(() => tok.decode([-1])).toThrow(/not in the vocabulary/);
    expect(() => tok.decode([1.5])).toThrow(InvalidArgumentError);
    const ids = tok.encode('😀');
    expect(ids.length).toBeGreaterThan(1);
    expect(tok.decode(ids.slice(0, 1))).toBe('\ufffd');
    expect(Array.from(tok.decodeBytes(ids))).toEqual([0xf0, 0x9f, 0x98, 0x80]);
  });

  it('tokenize gives ids with their vocabulary strings', () => {
    expect(tok.tokenize('Hello world')).toEqual([{ id: 15496, token: 'Hello' }, { id: 995, token: 'Ġworld' }]);
  });
});

describe('files: vocab.json + merges.txt and tokenizer.json', () => {
  it('the derived GPT-2 files load back to the same tokenizer (ids equal on the edge-case text)', async () => {
    const paths = await saveTokenizer(tok, tmp);
    expect(paths.map((p) => p.slice(tmp.length + 1)).sort()).toEqual(['merges.txt', 'tokenizer.json', 'vocab.json']);
    const merges = readFileSync(join(tmp, 'merges.txt'), 'utf8');
    expect(merges.split('\n').slice(0, 3)).toEqual(['#version: 0.2', 'Ġ t', 'Ġ a']);
    const vocab = JSON.parse(readFileSync(join(tmp, 'vocab.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(vocab).length).toBe(50257);
    expect(vocab['<|endoftext|>']).toBe(50256);
    const fromFiles = await loadBPEFiles(join(tmp, 'vocab.json'), join(tmp, 'merges.txt'));
    const fromJson = bpeFromTokenizerJson(readFileSync(join(tmp, 'tokenizer.json'), 'utf8'));
    const fromDir = await loadTokenizer(tmp);
    const expected = oracle.encode(fixture, 'all');
    for (const t of [fromFiles, fromJson, fromDir]) {
      expect(t.encode(fixture)).toEqual(expected);
      expect(t.vocabSize).toBe(50257);
    }
    const hf = JSON.parse(readFileSync(join(tmp, 'tokenizer.json'), 'utf8'));
    expect(hf.model.type).toBe('BPE');
    expect(hf.pre_tokenizer).toMatchObject({ type: 'ByteLevel', add_prefix_space: false });
    expect(hf.added_tokens).toEqual([expect.objectContaining({ id: 50256, content: '<|endoftext|>', special: true })]);
    expect(hf.model.merges[0]).toBe('Ġ t');
  });

  it('reads HF tokenizer.json with merges as pairs (newer format)', () => {
    const vocab = Object.fromEntries([...tok.getVocab()].filter(([, id]) => id < 256));
    vocab['he'] = 256;
    vocab['Ġhe'] = 257;
    const json = {
      added_tokens: [{ id: 258, content: '<eos>', special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', vocab, merges: [['h', 'e'], ['Ġ', 'he']] },
    };
    const t = bpeFromTokenizerJson(JSON.stringify(json));
    expect(t.encode('he he<eos>')).toEqual([256, 257, 258]);
    expect(t.tokenize('he he').map((x) => x.token)).toEqual(['he', 'Ġhe']);
    expect(bpeFromTokenizerJson(formatTokenizerJson(t)).encode('he he<eos>')).toEqual([256, 257, 258]);
  });

  it('malformed files give FormatErrors that say what is wrong', () => {
    const vocab = formatVocabJson(new Map([...tok.getVocab()].filter(([, id]) => id < 256)));
    const bad: [() => unknown, RegExp][] = [
      [() => bpeFromVocabMerges('{not json', ''), /vocab\.json: not valid JSON/],
      [() => bpeFromVocabMerges('[1,2]', ''), /JSON object/],
      [() => bpeFromVocabMerges('{"a": -1}', ''), /non-negative integer/],
      [() => bpeFromVocabMerges('{"a": 0}', ''), /byte 0x00 .* is missing/],
      [() => bpeFromVocabMerges(vocab, '#version: 0.2\na b c'), /merges\.txt: line 2 must be two tokens/],
      [() => bpeFromVocabMerges(vocab, 'q ☃'), /not in the vocabulary/],
      [() => bpeFromVocabMerges(vocab, 'h e'), /makes "he", which is not in the vocabulary/],
      [() => bpeFromTokenizerJson('{"model": {"type": "WordPiece", "vocab": {}}}'), /model\.type must be "BPE"/],
      [() => bpeFromTokenizerJson(JSON.stringify({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true }, model: { type: 'BPE', vocab: {}, merges: [] } })), /add_prefix_space/],
      [() => bpeFromTokenizerJson(JSON.stringify({ pre_tokenizer: { type: 'Whitespace' }, model: { type: 'BPE', vocab: {}, merges: [] } })), /pre_tokenizer/],
      [() => bpeFromTokenizerJson(JSON.stringify({ pre_tokenizer: { type: 'ByteLevel' }, model: { type: 'BPE', vocab: JSON.parse(vocab), merges: [42] } })), /merges\[0\]/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(FormatError);
      expect(fn).toThrow(message);
    }
    expect(() => formatMergesTxt([['a b', 'c']])).toThrow(FormatError);
  });

  it('missing files are typed errors', async () => {
    await expect(loadBPEFiles(join(tmp, 'nope.json'), join(tmp, 'nope.txt'))).rejects.toThrow(InvalidArgumentError);
    await expect(loadTokenizer(join(tmp, 'no-such-dir'))).rejects.toThrow(/is not a folder/);
    await expect(loadTokenizer(import.meta.dirname)).rejects.toThrow(/has no tokenizer\.json/);
  });

  it('the rank-derived merges reproduce every GPT-2 token from its own bytes', () => {
    // Independent check of the derivation: each token must be the concatenation of its merge pair.
    const vocab = tok.getVocab();
    const merges = tok.merges;
    const byId = new Map([...vocab].map(([t, id]) => [id, t]));
    merges.forEach(([a, b], i) => {
      expect(a + b).toBe(byId.get(256 + i));
      expect(vocab.get(a)!).toBeLessThan(256 + i);
      expect(vocab.get(b)!).toBeLessThan(256 + i);
    });
  });
});
