import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKit, InvalidArgumentError, tf, type CommandSpec } from '@nutshell/core';
import {
  AuditLog, audit, createManifest, generateSigningKey, makePrivate, rdpEpsilon, renderAuditHtml, renderAuditMarkdown,
  type ModelCard,
} from '@nutshell/ethics-audit';
import plugin from '@nutshell/ethics-audit/plugin';
import { DataLoader, MLP, SGD, crossEntropy } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

const card: ModelCard = {
  name: 'demo-mlp',
  details: { version: '1', license: 'apache-2.0', type: 'MLP classifier' },
  intendedUse: { primaryUses: 'a demonstration of the audit report' },
  trainingData: { datasets: [{ name: 'synthetic', description: 'random points' }] },
  evaluation: { datasets: [{ name: 'synthetic-test', split: 'test' }] },
  results: [{ name: 'accuracy', value: 0.9, higherIsBetter: true }],
  limitations: 'toy data; not for decisions about people',
};
const fairness = { yTrue: [1, 0, 1, 1, 0, 0], yPred: [1, 0, 0, 1, 1, 1], sensitiveFeatures: ['a', 'a', 'a', 'b', 'b', 'b'] };

describe('audit(model, suite)', () => {
  it('collects fairness, DP ε, MIA, carbon and provenance findings and merges them into the card', async () => {
    const model = new MLP({ sizes: [3, 4, 2], seed: 0 });
    const x = tf.tensor2d([[0, 1, 2], [1, 0, 1], [2, 2, 0], [0, 0, 1]]), y = tf.tensor1d([0, 1, 1, 0], 'int32');
    const dp = makePrivate(model, new SGD(model, { lr: 0.1 }), new DataLoader([x, y], { batchSize: 2 }), { noiseMultiplier: 1, maxGradNorm: 1, seed: 0 });
    dp.fit((m, [a, b]) => crossEntropy(m.forward(a), b, { reduction: 'none' }), { epochs: 2 });
    const key = generateSigningKey();
    const manifest = await createManifest({ title: 'demo', creator: 'test', assets: [{ name: 'w.bin', data: 'weights' }] }, key);
    const log = new AuditLog();
    log.append('train', { steps: dp.steps });

    const report = await audit(model, {
      card, fairness, privacy: { dp, membership: { memberScores: [3, 2, 1.5, 4], nonMemberScores: [0, 1, 0.5, 1.2] } },
      carbon: { energyKWh: 0.002, region: 'DEU' }, provenance: { manifest, files: { 'w.bin': new TextEncoder().encode('weights') } }, auditLog: log.toJSONL(),
    });
    const byCheck = Object.fromEntries(report.findings.map((f) => [f.check, f]));
    expect(report.model).toEqual({ name: 'demo-mlp', type: 'MLP', parameters: 3 * 4 + 4 + 4 * 2 + 2 });
    expect(byCheck.demographic_parity_difference!.value).toBeCloseTo(2 / 3, 12);
    expect(byCheck.demographic_parity_difference!.severity).toBe('high');
    expect(byCheck['dp-epsilon']!.value).toBe(rdpEpsilon(0.5, 1, dp.steps, 1e-5).epsilon);
    expect(byCheck['membership-inference']!.value).toBe(1);
    expect(byCheck.carbon!.message).toMatch(/fallback/);
    expect(byCheck.provenance!.severity).toBe('info');
    expect(byCheck['audit-log']!.severity).toBe('info');
    expect(byCheck['model-card']!.severity).toBe('info');
    expect(report.severity).toBe('high');
    expect(report.card!.results.map((r) => r.name)).toEqual(['accuracy', 'demographic_parity_difference', 'equalized_odds_difference', 'dp_epsilon', 'mia_auc']);
    expect(report.card!.carbon!.region).toBe('DEU');

    const md = renderAuditMarkdown(report);
    expect(md.startsWith('---\n')).toBe(true);
    expect(md).toMatch(/model-index:/);
    expect(md).toMatch(/co2_eq_emissions:/);
    expect(md).toMatch(/\| dp-epsilon \| info \|/);
    expect(md).toMatch(/## Model Card: demo-mlp/);
    expect(md).toMatch(/### Caveats and Recommendations|### Limitations/);
    const html = renderAuditHtml(report);
    expect(html).toMatch(/<h1>Audit report: demo-mlp<\/h1>/);
    expect(html).toMatch(/Model Card: demo-mlp/);
    expect(html).not.toMatch(/<script/);
    tf.dispose([x, y]);
  });

  it('flags an incomplete card, a missing watermark and a tampered manifest; escapes HTML', async () => {
    const key = generateSigningKey();
    const manifest = await createManifest({ title: 'x', creator: 'y', assets: [{ name: 'a', data: 'a' }] }, key);
    manifest.claim.creator = 'mallory';
    const report = await audit({ name: '<img src=x onerror=alert(1)>' }, {
      card: { ...card, limitations: '' },
      watermark: { tokens: Array.from({ length: 200 }, (_, i) => (i * 7) % 50), key: 'k', vocabSize: 50, expected: true },
      provenance: { manifest },
      pii: { documents: ['contact me at bob@example.com', 'nothing here'], label: 'samples' },
    });
    const byCheck = Object.fromEntries(report.findings.map((f) => [f.check, f]));
    expect(byCheck['model-card']!.severity).toBe('high');
    expect(byCheck['model-card']!.message).toMatch(/limitations/);
    expect(byCheck.watermark!.severity).toBe('high');
    expect(byCheck.provenance!.severity).toBe('high');
    expect(report.card).toBeUndefined();
    expect(byCheck.pii!.severity).toBe('high');
    expect(byCheck.pii!.message).toBe('1 of 2 samples contain PII (1 email)');
    expect(JSON.stringify(byCheck.pii!.details)).not.toMatch(/bob@example/);
    const html = renderAuditHtml(report);
    expect(html).not.toMatch(/<img/);
    expect(html).toMatch(/&lt;img/);
    await expect(audit('m', null as never)).rejects.toThrow(InvalidArgumentError);
  });

  it('nutshell audit report --config writes HTML / Markdown / JSON', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    const cmd = kit.get('commands', 'audit') as CommandSpec;
    const dir = mkdtempSync(join(tmpdir(), 'ethics-report-'));
    const config = join(dir, 'audit.json');
    const log = new AuditLog();
    log.append('train', { epochs: 1 });
    writeFileSync(join(dir, 'audit.jsonl'), log.toJSONL());
    writeFileSync(config, JSON.stringify({
      model: { name: 'cli-model' }, card,
      fairness: { y_true: fairness.yTrue, y_pred: fairness.yPred, sensitive_features: fairness.sensitiveFeatures },
      privacy: { dp: { noise_multiplier: 1.5, sample_rate: 0.04, steps: 2250, delta: 1e-5 }, membership: { member_losses: [0.1, 0.2], non_member_losses: [1, 2] } },
      carbon: { energy_kwh: 0.5 }, audit_log: 'audit.jsonl',
    }));
    const lines: string[] = [];
    const run = (options: Record<string, string>) => cmd.run({ args: ['report'], options, json: false, kit, print: (l) => lines.push(l) }) as Promise<{ findings: { check: string; value?: number }[] }>;
    const out = join(dir, 'report.html');
    const r = await run({ config, out });
    expect(r.findings.find((f) => f.check === 'dp-epsilon')!.value).toBeCloseTo(7.32911117143, 7);
    expect(r.findings.find((f) => f.check === 'membership-inference')!.value).toBe(1);
    expect(readFileSync(out, 'utf8')).toMatch(/<h1>Audit report: cli-model<\/h1>/);
    expect(lines[0]).toMatch(/wrote html/);
    await run({ config, out: join(dir, 'r.md') });
    expect(readFileSync(join(dir, 'r.md'), 'utf8')).toMatch(/^---\n/);
    await run({ config, out: join(dir, 'r.json') });
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).format).toBe('nutshell-audit/1');
    await expect(run({})).rejects.toThrow(/--config/);
    writeFileSync(config, JSON.stringify({ model: 'x', privacy: { dp: { noise_multiplier: 'a' } } }));
    await expect(run({ config })).rejects.toThrow(InvalidArgumentError);
  });
});
