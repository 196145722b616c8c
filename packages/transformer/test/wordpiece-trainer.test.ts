import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@nutshell/core';
import { WordPieceTokenizer, loadTokenizer, saveTokenizer, trainWordPiece } from '@nutshell/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'nutshell-wp-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const vocabOf = (t: WordPieceTokenizer): string[] => Array.from({ length: t.vocabSize }, (_, i) => t.idToToken(i)!);

describe('trainWordPiece (HF WordPieceTrainer: BPE merges with a ## prefix)', () => {
  // Worked by hand. Words: hug×3, pug×2, bun×1. Alphabet by code point: b g h n p u (ids 1–6).
  // Continuations in order of appearance: ##u 7, ##g 8, ##n 9. Pair counts: (##u,##g)=5,
  // (h,##u)=3, (p,##u)=2, (b,##u)=1, (##u,##n)=1. Merges: ##u+##g → ##ug (5); then h+##ug → hug (3);
  // p+##ug → pug (2); then a tie at 1 between (b,##u)=(1,7) and (##u,##n)=(7,9): smaller left id
  // wins → bu; then bu+##n → bun.
  const corpus = 'hug hug Hug pug pug bun';
  const base = ['[UNK]', 'b', 'g', 'h', 'n', 'p', 'u', '##u', '##g', '##n'];

  it('reproduces the hand-computed merges, stopping at vocabSize', () => {
    expect(vocabOf(trainWordPiece({ corpus, vocabSize: 15, minFrequency: 1, specialTokens: ['[UNK]'] }))).toEqual([...base, '##ug', 'hug', 'pug', 'bu', 'bun']);
    expect(vocabOf(trainWordPiece({ corpus, vocabSize: 12, minFrequency: 1, specialTokens: ['[UNK]'] }))).toEqual([...base, '##ug', 'hug']);
  });

  it('stops when the best pair is rarer than minFrequency (default 2)', () => {
    expect(vocabOf(trainWordPiece({ corpus, vocabSize: 100, specialTokens: ['[UNK]'] }))).toEqual([...base, '##ug', 'hug', 'pug']);
    expect(vocabOf(trainWordPiece({ corpus, vocabSize: 100, minFrequency: 4, specialTokens: ['[UNK]'] }))).toEqual([...base, '##ug']);
  });

  it('breaks count ties by smaller left id, then smaller right id (deterministic)', () => {
    const o = { vocabSize: 100, minFrequency: 1, specialTokens: ['[UNK]'] };
    // ab / ac: ##b and ##c get ids in order of appearance, so the first word's pair merges first.
    expect(vocabOf(trainWordPiece({ ...o, corpus: 'ab ac' })).slice(-2)).toEqual(['ab', 'ac']);
    expect(vocabOf(trainWordPiece({ ...o, corpus: 'ac ab' })).slice(-2)).toEqual(['ac', 'ab']);
    // cd / ab: the left ids differ (a < c by code point), whatever the order of the words.
    expect(vocabOf(trainWordPiece({ ...o, corpus: 'cd ab' })).slice(-2)).toEqual(['ab', 'cd']);
  });

  const text = [
    'The quick brown fox jumps over the lazy dog.',
    'A quick brown dog outpaces a quicker fox!',
    'Unbelievable: the foxes were jumping, the dogs were sleeping.',
    'Jumping foxes and sleeping dogs; quickly, quietly, quickest.',
  ];

  it('is deterministic and independent of how the corpus is given', () => {
    const a = trainWordPiece({ texts: text, vocabSize: 80 });
    const b = trainWordPiece({ corpus: text.join('\n'), vocabSize: 80 });
    const c = trainWordPiece({ corpus: (function* () { yield* text; })(), vocabSize: 80 });
    expect(vocabOf(b)).toEqual(vocabOf(a));
    expect(vocabOf(c)).toEqual(vocabOf(a));
    expect(a.vocabSize).toBe(80);
    expect(new Set(vocabOf(a)).size).toBe(80);
  });

  it('puts the special tokens first and never learns them from the corpus', () => {
    const t = trainWordPiece({ texts: [...text, '[MASK] [CLS] x [SEP]'], vocabSize: 70 });
    expect(vocabOf(t).slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    // "[" only ever appears inside special tokens, which are cut out before counting.
    expect(t.tokenToId('[')).toBeUndefined();
    expect(t.tokenToId('x')).toBeDefined();
    expect(t.encode('[CLS] fox [SEP]')[0]).toBe(2);
    const custom = trainWordPiece({ texts: text, vocabSize: 60, specialTokens: ['<unk>', '<pad>'], unkToken: '<unk>' });
    expect(vocabOf(custom).slice(0, 2)).toEqual(['<unk>', '<pad>']);
    expect(custom.encode('fox ☃')).toContain(0);
  });

  it('limitAlphabet keeps the most frequent characters; the rest become [UNK]', () => {
    const t = trainWordPiece({ corpus: 'aaa aab abc', vocabSize: 10, minFrequency: 1, limitAlphabet: 2, specialTokens: ['[UNK]'] });
    expect(vocabOf(t).slice(0, 3)).toEqual(['[UNK]', 'a', 'b']);
    expect(t.tokenizeToStrings('abc ab')).toEqual(['[UNK]', 'ab']);
    const init = trainWordPiece({ corpus: 'aaa', vocabSize: 10, limitAlphabet: 1, initialAlphabet: ['z'], specialTokens: ['[UNK]'] });
    expect(init.tokenToId('z')).toBeDefined();
  });

  it('encodes unseen words through subwords, and words with unseen characters as [UNK]', () => {
    const t = trainWordPiece({ corpus, vocabSize: 17, minFrequency: 1, specialTokens: ['[UNK]', '[CLS]', '[SEP]'] });
    // gun: g ##u ##n; bug: b ##ug; pun: p ##u ##n; hugs: s unseen → one [UNK]; hub: ##b never seen → [UNK].
    expect(t.tokenizeToStrings('gun bug pun hugs hub HUG')).toEqual(['g', '##u', '##n', 'bu', '##g', 'p', '##u', '##n', '[UNK]', '[UNK]', 'hug']);
    expect(t.decode(t.encode('gun pug'))).toBe('gun pug');
  });

  it('round-trips through vocab.txt (saveTokenizer / loadTokenizer)', async () => {
    const t = trainWordPiece({ texts: text, vocabSize: 90 });
    const dir = join(tmp, 'wp');
    await saveTokenizer(t, dir);
    const lines = readFileSync(join(dir, 'vocab.txt'), 'utf8').split('\n');
    expect(lines.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(lines.length).toBe(91); // 90 tokens + the final newline
    const back = await loadTokenizer(dir);
    expect(back).toBeInstanceOf(WordPieceTokenizer);
    expect(vocabOf(back as WordPieceTokenizer)).toEqual(vocabOf(t));
    const probe = 'Quickest foxes jump, unbelievably lazily! ☃ [MASK]';
    expect(back.encode(probe)).toEqual(t.encode(probe));
    expect(WordPieceTokenizer.fromVocabTxt(t.toVocabTxt()).encode(probe)).toEqual(t.encode(probe));
  });

  it('throws InvalidArgumentError on bad options', () => {
    const bad: unknown[] = [
      { vocabSize: 50 },
      { corpus: 'a', texts: ['a'], vocabSize: 50 },
      { corpus: 42, vocabSize: 50 },
      { corpus: 'a', vocabSize: 3 },
      { corpus: 'a', vocabSize: 10.5 },
      { corpus: 'a', vocabSize: 50, minFrequency: -1 },
      { corpus: 'a', vocabSize: 50, limitAlphabet: 1.5 },
      { corpus: 'a', vocabSize: 50, specialTokens: ['[UNK]', '[UNK]'] },
      { corpus: 'a', vocabSize: 50, specialTokens: ['[A]'] },
      { corpus: 'a', vocabSize: 50, specialTokens: ['[UNK]', 'a\nb'] },
      { corpus: 'a', vocabSize: 50, continuingSubwordPrefix: '' },
      { corpus: 'a', vocabSize: 50, initialAlphabet: ['ab'] },
      { corpus: 'a\ud800', vocabSize: 50 },
    ];
    for (const o of bad) expect(() => trainWordPiece(o as Parameters<typeof trainWordPiece>[0]), JSON.stringify(o)).toThrow(InvalidArgumentError);
  });
});
