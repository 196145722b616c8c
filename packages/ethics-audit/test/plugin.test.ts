import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKit, InvalidArgumentError, type CommandSpec } from '@nutshell/core';
import { AuditLog, AUDITS, GreenListWatermark, byteTokenizer } from '@nutshell/ethics-audit';
import plugin from '@nutshell/ethics-audit/plugin';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ethics-cli-'));

describe('plugin and CLI command', async () => {
  const kit = await createKit({ backend: false, plugins: [plugin] });
  const cmd = kit.get('commands', 'audit') as CommandSpec;
  const run = (args: string[], options: Record<string, string | number | boolean>) => cmd.run({ args, options, json: true, kit, print: () => {} }) as Promise<Record<string, unknown>>;

  it('registers the audits and the audit command', () => {
    expect(kit.list('commands')).toEqual(['audit']);
    expect(kit.list('audits')).toEqual(AUDITS.map((a) => a.name).sort());
  });

  it('audit fairness --data follows the issue contract', async () => {
    const data = join(dir, 'd.json');
    writeFileSync(data, JSON.stringify({ y_true: [1, 0, 1, 1, 0, 0], y_pred: [1, 0, 0, 1, 1, 1], sensitive_features: ['a', 'a', 'a', 'b', 'b', 'b'] }));
    const r = await run(['fairness'], { data });
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'equalized_odds_ratio', 'by_group']));
    expect(r.by_group).toEqual({ a: { selection_rate: 1 / 3, tpr: 0.5, fpr: 0, count: 3 }, b: { selection_rate: 1, tpr: 1, fpr: 1, count: 3 } });
    expect(r.demographic_parity_difference).toBeCloseTo(2 / 3, 14);
    expect(r.equalized_odds_difference).toBe(1);
    const csv = join(dir, 'p.csv');
    writeFileSync(csv, 'label,pred,sex\n1,1,a\n0,0,a\n1,0,a\n1,1,b\n0,1,b\n0,1,b\n');
    const c = await run(['fairness'], { csv, group: 'sex', 'y-true': 'label', 'y-pred': 'pred', privileged: 'b' });
    expect(c.demographic_parity_difference).toBeCloseTo(2 / 3, 14);
    expect((c.aif360 as { disparate_impact: number }).disparate_impact).toBeCloseTo(1 / 3, 14);
    await expect(run(['fairness'], { csv, group: 'nope' })).rejects.toThrow(/no column "nope"/);
  });

  it('audit dp-epsilon / dp-noise', async () => {
    const r = await run(['dp-epsilon'], { 'sample-rate': 0.04, 'noise-multiplier': 1.5, steps: 2250, delta: 1e-5 });
    expect(r.epsilon as number).toBeCloseTo(7.32911117143, 7);
    expect(r.best_alpha).toBe(3.9);
    const n = await run(['dp-noise'], { 'target-epsilon': 8, delta: 1e-5, 'sample-rate': 0.04, steps: 2000 });
    expect(n.noise_multiplier as number).toBeCloseTo(1.3562, 4);
    await expect(run(['dp-epsilon'], { 'sample-rate': 0.04 })).rejects.toThrow(InvalidArgumentError);
    await expect(run(['bogus'], {})).rejects.toThrow(/subcommand/);
  });

  it('audit watermark-detect, membership, log-verify, carbon', async () => {
    // A byte-level "text" whose bytes follow the green lists: detected.
    const wm = new GreenListWatermark({ key: 'k', vocabSize: 256 });
    const bytes = [65];
    for (let i = 0; i < 300; i++) {
      const mask = wm.lists.mask(bytes[bytes.length - 1]!);
      let t = (bytes[bytes.length - 1]! * 31 + i) % 95 + 32;
      while (!mask[t]) t = ((t - 32 + 1) % 95) + 32;
      bytes.push(t);
    }
    const text = join(dir, 't.txt');
    writeFileSync(text, byteTokenizer.decode(bytes));
    const r = await run(['watermark-detect'], { text, key: 'k', tokenizer: 'bytes' });
    expect(r.detected).toBe(true);
    expect(r.green_fraction).toBe(1);
    expect((await run(['watermark-detect'], { text, key: 'other' })).detected).toBe(false);
    const scores = join(dir, 's.json');
    writeFileSync(scores, JSON.stringify({ member_losses: [0.1, 0.2], non_member_losses: [0.5, 0.9] }));
    expect((await run(['membership'], { data: scores })).auc).toBe(1);
    const log = new AuditLog(join(dir, 'a.jsonl'));
    log.append('x', { a: 1 });
    expect((await run(['log-verify'], { log: join(dir, 'a.jsonl') })).valid).toBe(true);
    expect((await run(['carbon'], { 'energy-kwh': 1, region: 'SWE' })).emissionsKg).toBeCloseTo(0.045817, 12);
  });

  it('audits registry entries return findings with severities', async () => {
    const dp = kit.get('audits', 'dp-epsilon') as (typeof AUDITS)[number];
    const f = await dp.run({ sampleRate: 0.04, noiseMultiplier: 1.5, steps: 2250, delta: 1e-5, maxEpsilon: 5 });
    expect(f[0]).toMatchObject({ check: 'dp-epsilon', severity: 'high' });
  });
});
