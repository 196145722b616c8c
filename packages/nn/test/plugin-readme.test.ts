import { createKit } from '@nutshell/core';
import nnPlugin from '@nutshell/nn/plugin';
import { Linear, MLP } from '@nutshell/nn';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pkgDir = join(import.meta.dirname, '..');

describe('plugin and README', () => {
  it('registers layers and models in a kit, and no metrics (those belong to @nutshell/metrics)', async () => {
    const kit = await createKit({ backend: false, plugins: [nnPlugin] });
    expect(kit.list('layers')).toEqual(expect.arrayContaining(['Linear', 'Conv2d', 'LSTM', 'MultiHeadAttention', 'BatchNorm2d']));
    expect(kit.get('layers', 'Linear')).toBe(Linear);
    expect(kit.get('models', 'mlp')).toBe(MLP);
    expect(kit.list('metrics')).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg.nutshell.plugin).toBe('./dist/plugin.js');
  });

  it('the README example runs in plain Node and reaches 100% on XOR', () => {
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)![1]!;
    // Inside the package directory so '@nutshell/nn' resolves to this package's dist.
    const dir = mkdtempSync(join(pkgDir, 'dist', '.readme-'));
    writeFileSync(join(dir, 'example.mjs'), code);
    const run = spawnSync(process.execPath, [join(dir, 'example.mjs')], { cwd: pkgDir, encoding: 'utf8', timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true }); // dist is published: leave nothing behind
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/accuracy 100%/);
    expect(run.stdout).toContain('0.weight [8,2]');
  });
});
