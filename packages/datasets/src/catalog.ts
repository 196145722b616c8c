import { InvalidArgumentError } from '@nutshell/core';
import type { DatasetCard } from './card.js';
import { loadMnist, MNIST_CARD } from './mnist/mnist.js';
import { loadTinyShakespeare, TINY_SHAKESPEARE_CARD } from './remote/tinyshakespeare.js';
import type { RemoteOptions } from './remote/resolve.js';
import { gaussianGrid, gaussianRing, moons, swissRoll } from './synthetic/points.js';
import { shapes } from './synthetic/shapes.js';
import { loadWordNet, WORDNET_CARD } from './wordnet/wordnet.js';
import type { ArrayDataset } from './array-dataset.js';

/** What the `datasets` registry holds for each name. */
export interface DatasetEntry {
  name: string;
  /** embedded: ships in an npm dependency; remote: a URL pinned by checksum; synthetic: generated. */
  kind: 'embedded' | 'remote' | 'synthetic';
  card: DatasetCard;
  load(options?: Record<string, unknown>): Promise<unknown>;
  /** Counts and sizes for `nutshell datasets stats` (loads the data). */
  stats(options?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

function arrayStats(d: ArrayDataset): Record<string, unknown> {
  return {
    examples: d.length,
    shape: d.shape,
    ...(d.classes ? { classes: d.classes.length, perClass: d.labelCounts() } : {}),
  };
}

function synthetic(make: (o: Record<string, unknown>) => ArrayDataset): Pick<DatasetEntry, 'kind' | 'card' | 'load' | 'stats'> {
  return {
    kind: 'synthetic',
    card: make({}).card!,
    load: async (o = {}) => make(o),
    stats: async (o = {}) => arrayStats(make(o)),
  };
}

/** Every dataset this package knows, by registry name. */
export const DATASETS: readonly DatasetEntry[] = Object.freeze([
  {
    name: 'mnist',
    kind: 'embedded',
    card: MNIST_CARD,
    load: (o = {}) => loadMnist(o),
    stats: async (o = {}) => {
      const m = await loadMnist(o);
      return { ...arrayStats(m.all), train: m.train.length, test: m.test.length };
    },
  },
  {
    name: 'wordnet',
    kind: 'embedded',
    card: WORDNET_CARD,
    load: (o = {}) => loadWordNet(o),
    stats: async (o = {}) => {
      const wn = await loadWordNet(o);
      const split = wn.heldOutWords();
      return {
        synsets: wn.length,
        glosses: wn.glossLines().length,
        withExamples: wn.records.filter((s) => s.examples.length > 0).length,
        heldOutWords: split.heldOutWords.length,
        heldOutSynsets: split.heldOut.length,
        domains: wn.domainCounts(),
      };
    },
  },
  {
    name: 'tinyshakespeare',
    kind: 'remote',
    card: TINY_SHAKESPEARE_CARD,
    load: (o = {}) => loadTinyShakespeare(o as RemoteOptions),
    stats: async (o = {}) => {
      const c = await loadTinyShakespeare(o as RemoteOptions);
      return { characters: c.text.length, distinctCharacters: new Set(c.text).size, lines: c.text.split('\n').length, train: c.train.length, validation: c.validation.length, path: c.file.path, source: c.file.source };
    },
  },
  { name: 'gaussian-ring', ...synthetic((o) => gaussianRing(o)) },
  { name: 'gaussian-grid', ...synthetic((o) => gaussianGrid(o)) },
  { name: 'swiss-roll', ...synthetic((o) => swissRoll(o)) },
  { name: 'moons', ...synthetic((o) => moons(o)) },
  { name: 'shapes', ...synthetic((o) => shapes(o)) },
]);

export function datasetEntry(name: string): DatasetEntry {
  const entry = DATASETS.find((d) => d.name === name);
  if (!entry) throw new InvalidArgumentError(`no dataset named "${name}"; known: ${DATASETS.map((d) => d.name).join(', ')}`);
  return entry;
}
