import { InvalidArgumentError, type CommandSpec, type RegistryEntries } from '@nutshell/core';
import { renderCard } from './card.js';
import type { DatasetEntry } from './catalog.js';

/** `nutshell datasets [list | card <name> | stats <name>]`, over whatever the kit's datasets registry holds. */
export const datasetsCommand: CommandSpec = {
  summary: 'list datasets, print a dataset card, or load one and report its counts',
  description:
    'Datasets come from the datasets registry (this package registers mnist, wordnet, tinyshakespeare and the synthetic sets). ' +
    'Remote datasets are read from --data-dir (or NUTSHELL_DATA_DIR) or the cache; nothing is downloaded.',
  args: [
    { name: 'action', description: 'list (default), card or stats' },
    { name: 'name', description: 'dataset name, for card and stats' },
  ],
  options: [{ name: 'data-dir', type: 'string', description: 'folder with local dataset copies (default: NUTSHELL_DATA_DIR)' }],
  async run({ args, options, kit, print }) {
    const action = args[0] ?? 'list';
    const entries = kit.list('datasets').map((n) => kit.get('datasets', n) as RegistryEntries['datasets'] as DatasetEntry);
    if (action === 'list') {
      const rows = entries.map((e) => ({ name: e.name, kind: e.kind, examples: e.card.size.examples, license: e.card.license.spdx, title: e.card.title }));
      for (const r of rows) print(`${r.name.padEnd(16)} ${r.kind.padEnd(9)} ${String(r.examples).padStart(7)}  ${r.license.padEnd(24)} ${r.title}`);
      return { datasets: rows };
    }
    if (action !== 'card' && action !== 'stats') throw new InvalidArgumentError(`datasets: action must be list, card or stats, got ${JSON.stringify(action)}`);
    const name = args[1];
    if (!name) throw new InvalidArgumentError(`datasets ${action}: give a dataset name; known: ${entries.map((e) => e.name).join(', ')}`);
    const entry = kit.get('datasets', name) as DatasetEntry;
    if (action === 'card') {
      for (const line of renderCard(entry.card).trimEnd().split('\n')) print(line);
      return entry.card;
    }
    const dataDir = options['data-dir'];
    const started = performance.now();
    const stats = await entry.stats(typeof dataDir === 'string' ? { dataDir } : {});
    const seconds = Math.round(performance.now() - started) / 1000;
    print(`${name}: loaded in ${seconds} s`);
    for (const [k, v] of Object.entries(stats)) print(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    return { name, seconds, ...stats };
  },
};
