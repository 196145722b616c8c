import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@nutshell/core';
import { BYTE_TO_UNICODE, GPT2_BYTE_ORDER, bpeFromTokenizerJson, bpeFromVocabMerges, formatMergesTxt, formatTokenizerJson, formatVocabJson, pretokenize, trainByteLevelBPE } from '@nutshell/transformer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATA_DIR } from './gpt2-oracle.js';

const fixture = readFileSync(join(import.meta.dirname, 'fixtures/multilingual.txt'), 'utf8');

/**
 * Reference trainer, written independently and naively: recount every pair over every word at each
 * step, pick the highest count, ties to the smaller (left id, right id).
 */
function naiveTrain(text: string, vocabSize: number, minFrequency: number): [string, string][] {
  const counts = new Map<string, number>();
  for (const piece of pretokenize(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  const tokens = GPT2_BYTE_ORDER.map((b) => BYTE_TO_UNICODE[b]!);
  const ids = new Map(tokens.map((t, i) => [t, i]));
  let words = [...counts].map(([w, c]) => ({ c, s: Array.from(new TextEncoder().encode(w), (b) => ids.get(BYTE_TO_UNICODE[b]!)!) }));
  const merges: [string, string][] = [];
  while (tokens.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.s.length; i++) pairs.set(`${w.s[i]},${w.s[i + 1]}`, (pairs.get(`${w.s[i]},${w.s[i + 1]}`) ?? 0) + w.c);
    let best: [number, number, number] | undefined;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (!best || c > best[0] || (c === best[0] && (a < best[1] || (a === best[1] && b < best[2])))) best = [c, a, b];
    }
    if (!best || best[0] < minFrequency) break;
    const [, a, b] = best;
    const str = tokens[a]! + tokens[b]!;
    let id = ids.get(str);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(str);
      ids.set(str, id);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    words = words.map((w) => {
      const s: number[] = [];
      for (let i = 0; i < w.s.length; i++) {
        if (i + 1 < w.s.length && w.s[i] === a && w.s[i + 1] === b) {
          s.push(id!);
          i++;
        } else s.push(w.s[i]!);
      }
      return { c: w.c, s };
    });
  }
  return merges;
}

describe('trainByteLevelBPE', () => {
  it('learns the most frequent pairs first, on a hand-checked corpus', () => {
    // Pieces: "ab" ×1, " ab" ×2 → (a,b) occurs 3 times, (Ġ,a) 2 times.
    const t = trainByteLevelBPE('ab ab ab', { vocabSize: 258 });
    expect(t.merges).toEqual([['a', 'b'], ['Ġ', 'ab']]);
    expect(t.tokenToId('ab')).toBe(256);
    expect(t.tokenToId('Ġab')).toBe(257);
    expect(t.encode('ab ab')).toEqual([256, 257]);
    expect(t.vocabSize).toBe(258);
  });

  it('breaks ties by the smaller left id, then right id (documented order)', () => {
    // "xy" and " zw": three pairs seen once each; ids x=87, y=88, z=89, w=86, Ġ=220.
    const t = trainByteLevelBPE('xy zw', { vocabSize: 259, minFrequency: 1 });
    expect(['x', 'y', 'z', 'w', 'Ġ'].map((c) => t.tokenToId(c))).toEqual([87, 88, 89, 86, 220]);
    expect(t.merges).toEqual([['x', 'y'], ['z', 'w'], ['Ġ', 'zw']]);
    // The same words in another order give the same merges: "zw" and " xy" → (x,y) first (left 87 < 89 < 220).
    expect(trainByteLevelBPE('zw xy', { vocabSize: 259, minFrequency: 1 }).merges).toEqual([['x', 'y'], ['z', 'w'], ['Ġ', 'xy']]);
  });

  it('matches an independent naive trainer on real text', (ctx) => {
    const path = join(DATA_DIR, 'tinyshakespeare/input.txt');
    const text = existsSync(path) ? readFileSync(path, 'utf8').slice(0, 30_000) : fixture.repeat(3);
    if (!text) return ctx.skip();
    const fast = trainByteLevelBPE(text, { vocabSize: 256 + 150, minFrequency: 2 });
    expect(fast.merges).toEqual(naiveTrain(text, 256 + 150, 2));
    const multi = trainByteLevelBPE(fixture, { vocabSize: 256 + 80, minFrequency: 2 });
    expect(multi.merges).toEqual(naiveTrain(fixture, 256 + 80, 2));
  });

  it('stops at minFrequency and puts special tokens last, never learning from their text', () => {
    const corpus = `${'<|endoftext|>'.repeat(40)} hello hello hello`;
    const t = trainByteLevelBPE(corpus, { vocabSize: 1000, specialTokens: ['<|endoftext|>', '<pad>'], minFrequency: 3 });
    for (const [a, b] of t.merges) expect(a + b).not.toMatch(/[<|>]/);
    expect(t.merges.length).toBeGreaterThan(0);
    const n = 256 + new Set(t.merges.map(([a, b]) => a + b)).size;
    expect(t.tokenToId('<|endoftext|>')).toBe(n);
    expect(t.tokenToId('<pad>')).toBe(n + 1);
    expect(t.vocabSize).toBe(n + 2);
    expect(t.tokenToId('Ġhello')).toBeDefined();
    expect(t.encode(' hello<pad> hello')).toEqual([t.tokenToId('Ġhello'), n + 1, t.tokenToId('Ġhello')]);
    // Exactly vocabSize when the corpus has enough pairs.
    expect(trainByteLevelBPE(fixture, { vocabSize: 300, specialTokens: ['<s>'], minFrequency: 1 }).vocabSize).toBe(300);
  });

  it('property: a trained tokenizer round-trips any string and survives saving', () => {
    const t = trainByteLevelBPE(fixture, { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
    const files = bpeFromVocabMerges(formatVocabJson(t.getVocab()), formatMergesTxt(t.merges));
    const json = bpeFromTokenizerJson(formatTokenizerJson(t));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
        const ids = t.encode(s);
        expect(t.decode(ids)).toBe(s);
        expect(files.encode(s)).toEqual(ids);
        expect(json.encode(s)).toEqual(ids);
      }),
      { numRuns: 200, seed: 1 },
    );
    expect(t.decode(t.encode(fixture))).toBe(fixture);
  });

  it('a custom pattern is kept through tokenizer.json', () => {
    const t = trainByteLevelBPE('aaa bbb aaa bbb', { vocabSize: 270, pattern: String.raw`\p{L}+|\s+|[^\s\p{L}]+` });
    const again = bpeFromTokenizerJson(formatTokenizerJson(t));
    expect(again.pattern).toBe(t.pattern);
    expect(again.encode('aaa bbb!')).toEqual(t.encode('aaa bbb!'));
  });

  it('rejects bad options and malformed corpora with typed errors', () => {
    expect(() => trainByteLevelBPE('x', { vocabSize: 255 })).toThrow(InvalidArgumentError);
    expect(() => trainByteLevelBPE('x', { vocabSize: 256, specialTokens: ['<s>'] })).toThrow(/vocabSize/);
    expect(() => trainByteLevelBPE('x', { vocabSize: 300, minFrequency: 0 })).toThrow(/minFrequency/);
    expect(() => trainByteLevelBPE('x', { vocabSize: 300, specialTokens: ['a', 'a'] })).toThrow(/distinct/);
    expect(() => trainByteLevelBPE(['ok', 'bad \udc00'], { vocabSize: 300 })).toThrow(/lone surrogate/);
    expect(() => trainByteLevelBPE('x', { vocabSize: 300, pattern: '(' })).toThrow(InvalidArgumentError);
  });
});
