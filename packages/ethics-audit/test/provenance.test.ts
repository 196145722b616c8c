import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError, type MetricResult } from '@nutshell/core';
import {
  AuditLog, canonicalJson, createManifest, estimateEmissions, generateSigningKey, gridIntensity, manifestHash,
  measureEmissions, modelCardYaml, readRapl, renderModelCardHtml, renderModelCardMarkdown, sha256Hex, verifyManifest,
  type ModelCard,
} from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ethics-audit-'));

describe('provenance manifests (Ed25519)', () => {
  it('signs, verifies, and detects any changed byte in claim, signature or asset', async () => {
    const key = generateSigningKey();
    const weights = join(dir, 'weights.bin');
    writeFileSync(weights, Uint8Array.from([1, 2, 3, 4]));
    const parent = await createManifest({ title: 'base', creator: 'lab', assets: [{ name: 'base.bin', data: 'base' }] }, key);
    const m = await createManifest({
      title: 'tiny model', creator: 'nutshell tests', assets: [{ path: weights }],
      model: { id: 'tiny', seed: 42, promptSha256: sha256Hex('hi') }, trainingData: [{ name: 'moons', sha256: sha256Hex('moons') }],
      parents: [{ sha256: manifestHash(parent), title: 'base' }],
    }, key);
    expect(m.claim.assets[0]).toEqual({ name: 'weights.bin', sha256: sha256Hex(Uint8Array.from([1, 2, 3, 4])), bytes: 4 });
    const ok = await verifyManifest(JSON.parse(JSON.stringify(m)), { files: { 'weights.bin': weights }, trustedKeys: [key.publicKey], parents: [parent] });
    expect(ok).toEqual({ valid: true, problems: [], signer: key.publicKey });
    const edited = JSON.parse(JSON.stringify(m));
    edited.claim.model.seed = 43;
    expect((await verifyManifest(edited)).valid).toBe(false);
    const sig = JSON.parse(JSON.stringify(m));
    sig.signature.value = (sig.signature.value.startsWith('A') ? 'B' : 'A') + sig.signature.value.slice(1);
    expect((await verifyManifest(sig)).valid).toBe(false);
    writeFileSync(join(dir, 'weights2.bin'), Uint8Array.from([1, 2, 3, 5]));
    const bad = await verifyManifest(m, { files: { 'weights.bin': join(dir, 'weights2.bin') } });
    expect(bad.problems.join()).toMatch(/differs/);
    expect((await verifyManifest(m, { trustedKeys: [generateSigningKey().publicKey] })).problems.join()).toMatch(/not among the trusted/);
    await expect(verifyManifest({ format: 'x' })).rejects.toThrow(FormatError);
    await expect(createManifest({ title: '', creator: 'x', assets: [] }, key)).rejects.toThrow(InvalidArgumentError);
  });

  it('canonical JSON sorts keys and refuses non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined })).toBe('{"a":[true,null,"x"],"b":1}');
    expect(() => canonicalJson({ a: NaN })).toThrow(FormatError);
  });
});

describe('audit log', () => {
  it('hash-chains entries; any edit, deletion or reorder fails verification; file-backed reopen works', () => {
    const path = join(dir, 'audit.jsonl');
    const log = new AuditLog(path);
    log.append('fairness-audit', { dpd: 0.12 }, { actor: 'ci' });
    log.append('dp-epsilon', { epsilon: 7.33 });
    log.append('export-approved', { by: 'alice' });
    expect(log.verify()).toMatchObject({ valid: true, entries: 3 });
    const text = readFileSync(path, 'utf8');
    expect(AuditLog.verify(text).head).toBe(log.head);
    const reopened = new AuditLog(path);
    reopened.append('another');
    expect(AuditLog.verify(readFileSync(path, 'utf8')).entries).toBe(4);
    const lines = text.trim().split('\n');
    expect(AuditLog.verify(lines.map((l, i) => (i === 1 ? l.replace('7.33', '1.5') : l)).join('\n'))).toMatchObject({ valid: false, firstBadLine: 2 });
    expect(AuditLog.verify([lines[0], lines[2]].join('\n'))).toMatchObject({ valid: false, firstBadLine: 2 });
    expect(AuditLog.verify([lines[1], lines[0]].join('\n')).valid).toBe(false);
    expect(AuditLog.verify('{not json').valid).toBe(false);
    writeFileSync(join(dir, 'bad.jsonl'), lines[1]!);
    expect(() => new AuditLog(join(dir, 'bad.jsonl'))).toThrow(FormatError);
  });
});

describe('carbon (CodeCarbon method)', () => {
  it('emissions = energy × PUE × intensity, with the country table and the world default', () => {
    expect(estimateEmissions(2, 'FRA').emissionsKg).toBeCloseTo((2 * 67.39) / 1000, 12);
    expect(estimateEmissions(1, undefined, 1.5).emissionsKg).toBeCloseTo(0.475 * 1.5, 12);
    expect(gridIntensity('deu').gPerKWh).toBe(365.477);
    expect(() => gridIntensity('XXX')).toThrow(InvalidArgumentError);
  });

  it('says when power is a TDP fallback; uses RAPL counters when readable', async () => {
    const busy = () => { let s = 0; for (let i = 0; i < 3e6; i++) s += Math.sqrt(i); return s; };
    const { report } = await measureEmissions(busy, { region: 'DEU', raplRoot: join(dir, 'no-rapl') });
    expect(report.powerSource).toBe('tdp-fallback');
    expect(report.fallback).toBe(true);
    expect(report.note).toMatch(/FALLBACK ESTIMATE/);
    expect(report.energyKWh).toBeGreaterThan(0);
    expect(report.emissionsKg).toBeCloseTo(report.energyKWh * 365.477 / 1000, 15);
    // A fake powercap tree whose counter advances (and wraps) between the two reads.
    const root = join(dir, 'powercap');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(root, 'intel-rapl:0'), { recursive: true });
    writeFileSync(join(root, 'intel-rapl:0', 'energy_uj'), '999000000');
    writeFileSync(join(root, 'intel-rapl:0', 'max_energy_range_uj'), '1000000000');
    expect(readRapl(root)).toEqual({ domains: ['intel-rapl:0'], energyUj: [999000000], maxUj: [1000000000] });
    const r = await measureEmissions(() => writeFileSync(join(root, 'intel-rapl:0', 'energy_uj'), '2000000'), { raplRoot: root });
    expect(r.report.powerSource).toBe('rapl');
    expect(r.report.energyKWh).toBeCloseTo(3 / 3.6e6, 12); // 1 J to wrap + 2 J
  });
});

describe('model cards', () => {
  const results: (MetricResult & { group?: string })[] = [
    { name: 'accuracy', value: 0.91, interval: { low: 0.89, high: 0.93, level: 0.95 } },
    { name: 'demographic_parity_difference', value: 0.04, group: 'sex' },
  ];
  const card: ModelCard = {
    name: 'tiny-mlp', details: { version: '1.0', license: 'apache-2.0', developers: 'nutshell <team>', libraryName: 'nutshell' },
    intendedUse: { primaryUses: 'teaching', outOfScope: 'decisions about people' },
    evaluation: { datasets: [{ name: 'moons', id: 'nutshell/moons', split: 'test' }] },
    trainingData: { datasets: [{ name: 'moons', id: 'nutshell/moons' }] },
    results, limitations: 'Toy data only.',
    carbon: { durationS: 2, cpuTimeS: 2, powerW: 10, powerSource: 'tdp-fallback', fallback: true, tdpW: 85, pue: 1, energyKWh: 1e-5, region: 'DEU', gridIntensity: 365.477, gridSource: 'x', emissionsKg: 3.65e-6, hardware: 'cpu', note: 'FALLBACK ESTIMATE' },
  };

  it('renders Markdown with HF YAML (model-index, co2) and all Mitchell sections, and HTML with escaping', () => {
    const md = renderModelCardMarkdown(card);
    expect(md.startsWith('---\nlicense: "apache-2.0"\n')).toBe(true);
    expect(modelCardYaml(card)).toMatch(/model-index:\n- name: "tiny-mlp"\n  results:\n  - task:\n      type: "evaluation"\n    dataset:\n      name: "moons"\n      type: "nutshell\/moons"\n      split: "test"\n    metrics:\n    - type: "accuracy"\n      value: 0.91/);
    expect(md).toMatch(/co2_eq_emissions:\n  emissions: 0.00365\n  source: "TDP fallback estimate/);
    for (const s of ['Model Details', 'Intended Use', 'Factors', 'Metrics', 'Evaluation Data', 'Training Data', 'Quantitative Analyses', 'Ethical Considerations', 'Caveats and Recommendations', 'Environmental Impact']) {
      expect(md).toContain(`## ${s}`);
    }
    expect(md).toContain('| accuracy | all | moons | 0.91 [0.89, 0.93] (95%) |');
    expect(md).toContain('**fallback estimate**');
    const html = renderModelCardHtml(card);
    expect(html).toContain('nutshell &lt;team&gt;');
    expect(html).toContain('<th>Metric</th>');
    expect(() => renderModelCardMarkdown({ ...card, limitations: '' })).toThrow(/limitations/);
    expect(() => renderModelCardMarkdown({ ...card, results: [], intendedUse: { primaryUses: '' } })).toThrow(/intendedUse.primaryUses, results/);
  });
});
