import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { CharTokenizer } from '@nutshell/transformer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATA_DIR } from './gpt2-oracle.js';

describe('CharTokenizer', () => {
  it('gives tiny Shakespeare nanoGPT’s 65-character vocabulary', (ctx) => {
    const path = join(DATA_DIR, 'tinyshakespeare/input.txt');
    if (!existsSync(path)) return ctx.skip();
    const text = readFileSync(path, 'utf8');
    const t = CharTokenizer.fromText(text);
    // nanoGPT's data/shakespeare_char/prepare.py prints exactly these characters, in this order.
    expect(t.chars.join('')).toBe("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    expect(t.vocabSize).toBe(65);
    expect(t.encode('hii there')).toEqual([46, 47, 47, 1, 58, 46, 43, 56, 43]);
    expect(t.decode(t.encode(text.slice(0, 5000)))).toBe(text.slice(0, 5000));
  });

  it('one id per code point (emoji, CJK, combining marks), lossless', () => {
    const text = 'a😀中e\u0301👩‍👧';
    const t = CharTokenizer.fromText(text);
    expect(t.chars).toEqual(['a', 'e', '\u0301', '\u200d', '中', '👧', '👩', '😀']);
    expect(t.encode('😀a')).toEqual([7, 0]);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...t.chars), { maxLength: 30 }), (chars) => {
        const s = chars.join('');
        expect(t.decode(t.encode(s))).toBe(s);
      }),
      { numRuns: 100, seed: 2 },
    );
  });

  it('special tokens and unknown characters', () => {
    const t = CharTokenizer.fromText('abc', { specialTokens: ['<eos>', '<unk>'], unkToken: '<unk>' });
    expect(t.vocabSize).toBe(5);
    expect(t.encode('ab<eos>z')).toEqual([0, 1, 3, 4]);
    expect(t.encode('a<eos>', { allowedSpecial: 'none' })).toEqual([0, 4, 4, 4, 4, 4]);
    expect(t.decode([0, 3, 1], { skipSpecialTokens: true })).toBe('ab');
    const strict = CharTokenizer.fromText('abc');
    expect(() => strict.encode('abz')).toThrow(InvalidArgumentError);
    expect(() => strict.encode('abz')).toThrow(/U\+007A/);
    expect(() => strict.encode('a\udc00')).toThrow(/lone surrogate/);
    expect(() => strict.decode([3])).toThrow(InvalidArgumentError);
    expect(() => CharTokenizer.fromText('x\ud800')).toThrow(InvalidArgumentError);
  });

  it('saves to JSON and back', () => {
    const t = CharTokenizer.fromText('hello 😀', { specialTokens: ['<eos>'] });
    const again = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(again.encode('hole 😀<eos>')).toEqual(t.encode('hole 😀<eos>'));
    expect(() => CharTokenizer.fromJSON({ type: 'bpe' })).toThrow(FormatError);
    expect(() => new CharTokenizer({ chars: ['ab'] })).toThrow(InvalidArgumentError);
  });
});
