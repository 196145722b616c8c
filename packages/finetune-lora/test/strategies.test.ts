import { createKit, tf } from '@nutshell/core';
import { AdamW, Linear, MLP, mseLoss } from '@nutshell/nn';
import { GradualUnfreezing, discriminativeParamGroups, freezeFirst, fullFineTune, layerGroups, rankLayersByGradient, replaceHead, trainOnlyHead } from '@nutshell/finetune-lora';
import plugin from '@nutshell/finetune-lora/plugin';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TinyGPT2 } from './helpers.js';

const pkgDir = join(import.meta.dirname, '..');
const trainable = (m: MLP) => m.namedParameters({ trainableOnly: true }).map(([k]) => k);

describe('classic fine-tuning strategies', () => {
  it('layer groups follow blocks; freeze first N, head only, full, replace head', () => {
    expect(layerGroups(new TinyGPT2()).map((g) => g.name)).toEqual(['transformer.wte', 'transformer.h.0', 'transformer.h.1', 'lm_head']);
    const mlp = new MLP({ sizes: [4, 5, 6, 2], seed: 1 });
    expect(freezeFirst(mlp, 2)).toEqual(['0', '2']);
    expect(trainable(mlp)).toEqual(['4.weight', '4.bias']);
    fullFineTune(mlp);
    expect(trainable(mlp)).toHaveLength(6);
    trainOnlyHead(mlp);
    expect(trainable(mlp)).toEqual(['4.weight', '4.bias']);
    replaceHead(mlp, '4', new Linear(6, 3, { seed: 2 }));
    expect(mlp.getParameter('4.weight').shape).toEqual([3, 6]);
  });

  it('discriminative learning rates: lr / 2.6^k from the top, usable by optimizers', () => {
    const mlp = new MLP({ sizes: [4, 5, 6, 2], seed: 1 });
    const groups = discriminativeParamGroups(mlp, 0.01);
    expect(groups.map((g) => g.options!.lr)).toEqual([0.01 / 2.6 ** 2, 0.01 / 2.6, 0.01]);
    const opt = new AdamW(groups, { weightDecay: 0 });
    expect(opt.groups.map((g) => g.lr)).toEqual([0.01 / 2.6 ** 2, 0.01 / 2.6, 0.01]);
    opt.dispose();
  });

  it('gradual unfreezing thaws one group per epoch from the top', () => {
    const mlp = new MLP({ sizes: [4, 5, 6, 2], seed: 1 });
    const gu = new GradualUnfreezing(mlp);
    expect(trainable(mlp)).toEqual(['4.weight', '4.bias']);
    gu.onEpochEnd(null, { epoch: 0, step: 1, loss: 0, seconds: 0 });
    expect(trainable(mlp)).toEqual(['2.weight', '2.bias', '4.weight', '4.bias']);
    expect(gu.apply(5)).toBe(3);
  });

  it('ranks layers by gradient importance and restores trainable flags', () => {
    const mlp = new MLP({ sizes: [4, 8, 2], seed: 1 });
    mlp.requiresGrad(false);
    const x = tf.randomNormal([8, 4], 0, 1, 'float32', 1);
    const y = tf.zeros([8, 2]);
    const ranking = rankLayersByGradient(mlp, () => mseLoss(mlp.forward(x), y));
    expect(ranking.map((r) => r.path).sort()).toEqual(['0', '2']);
    expect(ranking[0]!.score).toBeGreaterThanOrEqual(ranking[1]!.score);
    expect(ranking[1]!.score).toBeGreaterThan(0);
    expect(trainable(mlp)).toEqual([]);
    tf.dispose([x, y]);
  });
});

describe('plugin and README', () => {
  it('registers the finetune command', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    expect(kit.list('commands')).toContain('finetune');
    expect(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).nutshell.plugin).toBe('./dist/plugin.js');
  });

  it('finetune merge writes merged weights from a PEFT adapter directory', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    const cmd = kit.get('commands', 'finetune') as { run(i: unknown): Promise<{ merged: string[]; outFile: string }> };
    const fixture = join(import.meta.dirname, 'fixtures', 'peft-gpt2-tiny');
    const out = mkdtempSync(join(pkgDir, 'dist', '.merge-'));
    try {
      const res = await cmd.run({ args: ['merge'], options: { adapter: fixture, model: fixture, out }, json: true, kit, print: () => {} });
      expect(res.merged).toHaveLength(6);
      expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toContain('LORA'); // json files are copied along
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    await expect(cmd.run({ args: ['train'], options: {}, json: true, kit, print: () => {} })).rejects.toThrow(/unknown action/);
  });

  it('the README example runs in plain Node', () => {
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)![1]!;
    const dir = mkdtempSync(join(pkgDir, 'dist', '.readme-'));
    writeFileSync(join(dir, 'example.mjs'), code);
    const run = spawnSync(process.execPath, [join(dir, 'example.mjs')], { cwd: pkgDir, encoding: 'utf8', timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/identical at init: true; trainable \d+\.\d+%/);
    expect(run.stdout).toMatch(/merge error [0-9.e-]+/);
  });
});
