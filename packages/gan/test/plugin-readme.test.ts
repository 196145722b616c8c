import { createKit, type CommandSpec } from '@nutshell/core';
import nnPlugin from '@nutshell/nn/plugin';
import ganPlugin from '@nutshell/gan/plugin';
import { DCGANGenerator, decodePng } from '@nutshell/gan';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pkgDir = join(import.meta.dirname, '..');

describe('plugin, CLI command and README', () => {
  it('registers models, layers and the gan command next to nn', async () => {
    const kit = await createKit({ backend: false, plugins: [ganPlugin, nnPlugin] });
    expect(kit.get('models', 'dcgan-generator')).toBe(DCGANGenerator);
    expect(kit.list('layers')).toEqual(expect.arrayContaining(['MinibatchStdDev', 'ModulatedConv2d', 'PixelShuffle', 'Linear']));
    expect(kit.list('models')).toEqual(expect.arrayContaining(['progressive-generator', 'srgan-generator']));
    expect(kit.list('commands')).toContain('gan');
    expect(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).nutshell.plugin).toBe('./dist/plugin.js');
  });

  it('gan train (ring) then gan sample write weights and PNGs', async () => {
    const kit = await createKit({ backend: false, plugins: [nnPlugin, ganPlugin] });
    const cmd = kit.get('commands', 'gan') as CommandSpec;
    const out = mkdtempSync(join(tmpdir(), 'gan-cli-'));
    const printed: string[] = [];
    const base = { kit, json: true, print: (l: string) => printed.push(l) };
    const res = (await cmd.run({ ...base, args: ['train'], options: { steps: 3, out, data: 'ring' } })) as { steps: number; modesCovered: number };
    expect(res.steps).toBe(3);
    expect(typeof res.modesCovered).toBe('number');
    const s = (await cmd.run({ ...base, args: ['sample'], options: { model: out, out: join(out, 'g.png'), count: 10 } })) as { count: number };
    expect(s.count).toBe(10);
    expect(decodePng(new Uint8Array(readFileSync(join(out, 'g.png')))).width).toBe(256);
    await expect(Promise.resolve().then(() => cmd.run({ ...base, args: ['fly'], options: {} }))).rejects.toThrow(/train' or 'sample/);
  });

  it('the README example runs in plain Node', () => {
    const code = /```js\n([\s\S]*?)```/.exec(readFileSync(join(pkgDir, 'README.md'), 'utf8'))![1]!;
    const dir = mkdtempSync(join(pkgDir, 'dist', '.readme-'));
    writeFileSync(join(dir, 'example.mjs'), code);
    const run = spawnSync(process.execPath, [join(dir, 'example.mjs')], { cwd: pkgDir, encoding: 'utf8', timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/step 40: D/);
    expect(run.stdout).toMatch(/wrote .*grid\.png/);
  });
});
