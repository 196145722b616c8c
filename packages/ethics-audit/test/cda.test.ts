import { InvalidArgumentError } from '@nutshell/core';
import { GENDER_WORD_PAIRS, counterfactualAugment, counterfactualSwap } from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const swap = (t: string, o = {}) => counterfactualSwap(t, o).text;

describe('counterfactual data augmentation', () => {
  it('swaps gendered words in both directions and keeps case', () => {
    expect(swap('He is a good man and she is a good woman.')).toBe('She is a good woman and he is a good man.');
    expect(swap('HE SAID THE KING WAS HERE')).toBe('SHE SAID THE QUEEN WAS HERE');
    expect(swap('My Father and my mother met the Duke.')).toBe('My Mother and my father met the Duchess.');
    expect(swap('The boys told their sisters.')).toBe('The girls told their brothers.');
    expect(swap('Mr Smith is a spokesman; Mrs Jones is a chairwoman.')).toBe('Mrs Smith is a spokeswoman; Mr Jones is a chairman.');
  });

  it('resolves her/his by context (determiner vs pronoun)', () => {
    expect(swap('I saw her.')).toBe('I saw him.');
    expect(swap('I saw her yesterday with her dog.')).toBe('I saw him yesterday with his dog.');
    expect(swap('Her car is red, and I gave her the keys.')).toBe('His car is red, and I gave him the keys.');
    expect(swap('She loves her family and her 3 cats.')).toBe('He loves his family and his 3 cats.');
    expect(swap('I met her recently.')).toBe('I met him recently.');
    expect(swap('The decision was his to make.')).toBe('The decision was hers to make.');
    expect(swap('His own book is his, not hers.')).toBe('Her own book is hers, not his.');
    expect(swap('He told him about himself.')).toBe('She told her about herself.');
    const r = counterfactualSwap('Tell her now.');
    expect(r.swaps).toEqual([{ start: 5, end: 8, from: 'her', to: 'him', ambiguous: true }]);
    // A tagger can decide instead.
    expect(swap('I gave her flowers.', { resolve: ({ candidates }: { candidates: string[] }) => (candidates.includes('him') ? 'him' : candidates[0]) })).toBe('I gave him flowers.');
    expect(swap('I gave her flowers.')).toBe('I gave his flowers.'); // the documented miss of the rule
  });

  it('is tokenization-safe: whole words, clitics, compounds, addresses', () => {
    expect(swap('The manager, a human from Sheffield, has a theme.')).toBe('The manager, a human from Sheffield, has a theme.');
    expect(swap("He's at the men's room; she'd know his brother's name.")).toBe("She's at the women's room; he'd know her sister's name.");
    expect(swap('Her father-in-law and his ex-wife and a man-made lake.')).toBe('His mother-in-law and her ex-husband and a man-made lake.');
    expect(swap('Mail he@example.com or see example.org/he and user_he, he2.')).toBe('Mail he@example.com or see example.org/he and user_he, he2.');
    expect(swap('“He” said: she—he!')).toBe('“She” said: he—she!');
    expect(swap('')).toBe('');
    const s = counterfactualSwap('a man, a woman');
    expect(s.swaps.map((x) => [x.start, x.end, x.from, x.to])).toEqual([[2, 5, 'man', 'woman'], [9, 14, 'woman', 'man']]);
  });

  it('swapping twice gives the text back (for unambiguous sentences)', () => {
    for (const t of ['The king and his son visited the queen.', 'She thanked her grandmother and him.', "My brothers' wives are actresses.", 'I saw her. Is it his?']) {
      expect(swap(swap(t))).toBe(t);
    }
  });

  it('names are optional and swapped only when capitalised; one-sided direction', () => {
    expect(swap('John met Mary.')).toBe('John met Mary.');
    expect(swap('John met Mary and he smiled.', { names: true })).toBe('Patricia met James and she smiled.');
    expect(swap('Did you mark it, Mark?', { names: [['Mark', 'Anna']] })).toBe('Did you mark it, Anna?');
    expect(swap('He and she.', { direction: 'to-second' })).toBe('She and she.');
    expect(swap('He and she.', { direction: 'to-first' })).toBe('He and he.');
    expect(swap('The cat and the dog.', { pairs: [['cat', 'dog']] })).toBe('The dog and the cat.');
  });

  it('list covers the core pairs; every pair is lower case and distinct', () => {
    const s = new Set(GENDER_WORD_PAIRS.map(([a, b]) => `${a}>${b}`));
    for (const p of ['he>she', 'his>her', 'him>her', 'man>woman', 'men>women', 'father>mother', 'king>queen']) expect(s.has(p)).toBe(true);
    for (const [a, b] of GENDER_WORD_PAIRS) { expect(a).toBe(a.toLowerCase()); expect(b).toBe(b.toLowerCase()); expect(a).not.toBe(b); }
    expect(GENDER_WORD_PAIRS.length).toBe(s.size);
  });

  it('augments a corpus (CDA duplicates, CDS substitutes) and rejects bad input', () => {
    const corpus = ['He runs.', 'The cat sleeps.', 'She reads her book.'];
    const d = counterfactualAugment(corpus);
    expect(d.texts).toEqual(['He runs.', 'She runs.', 'The cat sleeps.', 'She reads her book.', 'He reads his book.']);
    expect(d.changed).toBe(2);
    expect(d.swaps).toBe(3);
    expect(d.source[1]).toEqual({ index: 0, counterfactual: true });
    const big = Array.from({ length: 400 }, (_, i) => `Person ${i}: he said hi.`);
    const s = counterfactualAugment(big, { mode: 'substitute', probability: 0.5, seed: 3 });
    expect(s.texts).toHaveLength(400);
    const flipped = s.source.filter((x) => x.counterfactual).length;
    expect(flipped).toBeGreaterThan(160);
    expect(flipped).toBeLessThan(240);
    expect(counterfactualAugment(big, { mode: 'substitute', seed: 3 }).texts).toEqual(s.texts);
    expect(() => counterfactualSwap(3 as never)).toThrow(InvalidArgumentError);
    expect(() => counterfactualSwap('x', { pairs: [['a'] as never] })).toThrow(InvalidArgumentError);
    expect(() => counterfactualAugment(corpus, { mode: 'x' as never })).toThrow(InvalidArgumentError);
    expect(() => counterfactualSwap('her', { resolve: () => 'it' })).toThrow(InvalidArgumentError);
  });
});
