import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { WordPieceTokenizer, bertBasicTokenize } from '@nutshell/transformer';
import { describe, expect, it } from 'vitest';

// Expected outputs below are the cases of Hugging Face's BERT tokenizer tests (test_tokenization_bert.py).
describe('BERT basic tokenizer', () => {
  it('lower-cases, splits punctuation and whitespace', () => {
    expect(bertBasicTokenize(' \tHeLLo!how  \n Are yoU?  ')).toEqual(['hello', '!', 'how', 'are', 'you', '?']);
    expect(bertBasicTokenize('H\u00e9llo')).toEqual(['hello']);
  });

  it('keeps case when asked', () => {
    expect(bertBasicTokenize(' \tHeLLo!how  \n Are yoU?  ', { lowerCase: false })).toEqual(['HeLLo', '!', 'how', 'Are', 'yoU', '?']);
    expect(bertBasicTokenize(' \tHäLLo!how  \n Are yoU?  ', { lowerCase: false, stripAccents: false })).toEqual(['HäLLo', '!', 'how', 'Are', 'yoU', '?']);
    expect(bertBasicTokenize(' \tHäLLo!how  \n Are yoU?  ', { lowerCase: false, stripAccents: true })).toEqual(['HaLLo', '!', 'how', 'Are', 'yoU', '?']);
  });

  it('strips accents by default when lower-casing, or not when told', () => {
    expect(bertBasicTokenize(' \tHäLLo!how  \n Are yoU?  ')).toEqual(['hallo', '!', 'how', 'are', 'you', '?']);
    expect(bertBasicTokenize(' \tHäLLo!how  \n Are yoU?  ', { stripAccents: false })).toEqual(['hällo', '!', 'how', 'are', 'you', '?']);
    // Decomposed input (e + combining acute) is composed first (NFC), then stripped.
    expect(bertBasicTokenize('cafe\u0301 CAFÉ', { stripAccents: false })).toEqual(['café', 'café']);
    expect(bertBasicTokenize('cafe\u0301 CAFÉ')).toEqual(['cafe', 'cafe']);
  });

  it('isolates CJK ideographs, drops control characters, honours never-split words', () => {
    expect(bertBasicTokenize('ah\u535A\u63A8zz')).toEqual(['ah', '\u535A', '\u63A8', 'zz']);
    expect(bertBasicTokenize('ah\u535A\u63A8zz', { tokenizeChineseChars: false })).toEqual(['ah\u535A\u63A8zz']);
    expect(bertBasicTokenize('a\u0000b\ufffdc\u0007d e\u00a0f')).toEqual(['abcd', 'e', 'f']);
    expect(bertBasicTokenize(' \tHeLLo!how  \n Are yoU? [UNK]', { lowerCase: false, neverSplit: ['[UNK]'] })).toEqual(['HeLLo', '!', 'how', 'Are', 'yoU', '?', '[UNK]']);
    // BERT treats ASCII symbols such as $ ^ ` as punctuation, and Unicode punctuation too.
    expect(bertBasicTokenize('a$b^c`d¿e')).toEqual(['a', '$', 'b', '^', 'c', '`', 'd', '¿', 'e']);
  });
});

describe('WordPieceTokenizer', () => {
  const vocab = ['[UNK]', '[CLS]', '[SEP]', 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing'];
  const wp = new WordPieceTokenizer({ vocab });

  it('greedy longest-match-first with ## continuations and [UNK] for unmatchable words', () => {
    expect(wp.tokenizeToStrings('')).toEqual([]);
    expect(wp.tokenizeToStrings('unwanted running')).toEqual(['un', '##want', '##ed', 'runn', '##ing']);
    expect(wp.tokenizeToStrings('unwantedX running')).toEqual(['[UNK]', 'runn', '##ing']);
    expect(wp.encode('UNwanted running')).toEqual([7, 4, 5, 8, 9]);
    expect(wp.wordPieces('wanted')).toEqual(['want', '##ed']);
  });

  it('over-long words become [UNK]; [UNK] in text stays one token', () => {
    const short = new WordPieceTokenizer({ vocab, maxInputCharsPerWord: 5 });
    expect(short.tokenizeToStrings('want unwanted')).toEqual(['want', '[UNK]']);
    expect(wp.tokenizeToStrings('[UNK] want [CLS]')).toEqual(['[UNK]', 'want', '[CLS]']);
    expect(wp.tokenizeToStrings('[UNK]', { allowedSpecial: 'none' })).toEqual(['[UNK]', '[UNK]', '[UNK]']);
    // Characters are code points: an emoji is one character and unknown here.
    expect(wp.tokenizeToStrings('😀 want')).toEqual(['[UNK]', 'want']);
  });

  it('encodeForModel builds [CLS] a [SEP] b [SEP] with token types', () => {
    expect(wp.encodeForModel('unwanted', 'running')).toEqual({
      ids: [1, 7, 4, 5, 2, 8, 9, 2],
      tokenTypeIds: [0, 0, 0, 0, 0, 1, 1, 1],
      attentionMask: [1, 1, 1, 1, 1, 1, 1, 1],
    });
  });

  it('decodes by gluing ## pieces, optionally without special tokens', () => {
    expect(wp.decode([1, 7, 4, 5, 8, 9, 2])).toBe('[CLS] unwanted running [SEP]');
    expect(wp.decode([1, 7, 4, 5, 8, 9, 2], { skipSpecialTokens: true })).toBe('unwanted running');
    expect(() => wp.decode([10])).toThrow(InvalidArgumentError);
  });

  it('reads and writes vocab.txt; typed errors for bad input', () => {
    const again = WordPieceTokenizer.fromVocabTxt(wp.toVocabTxt());
    expect(again.vocabSize).toBe(vocab.length);
    expect(again.encode('unwanted running')).toEqual(wp.encode('unwanted running'));
    expect(() => WordPieceTokenizer.fromVocabTxt('a\nb\n')).toThrow(FormatError);
    expect(() => WordPieceTokenizer.fromVocabTxt('')).toThrow(FormatError);
    expect(() => wp.encode('bad \ud800')).toThrow(InvalidArgumentError);
    expect(() => new WordPieceTokenizer({ vocab, maxInputCharsPerWord: 0 })).toThrow(InvalidArgumentError);
    expect(() => new WordPieceTokenizer({ vocab, specialTokens: ['[MASK]'] })).toThrow(/not in the vocabulary/);
  });
});
