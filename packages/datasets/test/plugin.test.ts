import { createKit, type CommandSpec } from '@nutshell/core';
import plugin from '@nutshell/datasets/plugin';
import { DATASETS, renderCard, type DatasetEntry } from '@nutshell/datasets';
import { describe, expect, it } from 'vitest';

describe('capability plugin', () => {
  it('registers every dataset with a card and the datasets command', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    expect(kit.list('datasets')).toEqual(DATASETS.map((d) => d.name).sort());
    expect(kit.list('datasets')).toEqual(expect.arrayContaining(['mnist', 'wordnet', 'tinyshakespeare', 'gaussian-ring', 'gaussian-grid', 'swiss-roll', 'moons', 'shapes']));
    expect(kit.list('commands')).toEqual(['datasets']);
    for (const name of kit.list('datasets')) {
      const entry = kit.get('datasets', name) as DatasetEntry;
      const md = renderCard(entry.card);
      expect(md).toContain('## License');
      expect(md).toContain('## Fields');
      expect(md).toContain('## Splits');
    }
  });

  it('the datasets command lists, prints cards and computes stats', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    const cmd = kit.get('commands', 'datasets') as CommandSpec;
    const lines: string[] = [];
    const run = (args: string[], options: Record<string, string> = {}) => cmd.run({ args, options, json: false, kit, print: (l) => lines.push(l) });
    const list = (await run(['list'])) as { datasets: { name: string; examples: number }[] };
    expect(list.datasets.find((d) => d.name === 'mnist')?.examples).toBe(10_000);
    const card = (await run(['card', 'wordnet'])) as DatasetEntry['card'];
    expect(card.license.notice).toMatch(/Princeton University/);
    expect(lines.join('\n')).toContain('WordNet 3.1 Copyright 2011');
    const stats = (await run(['stats', 'moons'])) as { examples: number; perClass: number[] };
    expect(stats.examples).toBe(1000);
    expect(stats.perClass).toEqual([500, 500]);
    const mnist = (await run(['stats', 'mnist'])) as { examples: number; train: number; test: number };
    expect([mnist.examples, mnist.train, mnist.test]).toEqual([10_000, 8000, 2000]);
    await expect(run(['bogus'])).rejects.toThrow(/list, card or stats/);
    const saved = process.env.NUTSHELL_CACHE_DIR;
    process.env.NUTSHELL_CACHE_DIR = '/nonexistent-nutshell-cache';
    try {
      await expect(run(['stats', 'tinyshakespeare'], { 'data-dir': '/nonexistent-nutshell-dir' })).rejects.toThrow(/not found/);
    } finally {
      if (saved === undefined) delete process.env.NUTSHELL_CACHE_DIR;
      else process.env.NUTSHELL_CACHE_DIR = saved;
    }
  });
});
