import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FormatError, InvalidArgumentError, describe, type TextTokenizer } from '@nutshell/core';
import type { Label } from '../fairness/labels.js';
import type { SensitiveFeatures } from '../fairness/metric-frame.js';
import type { AuditSuite } from '../report/audit-report.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
/** Reads `camelCase` or `snake_case` spellings of a key. */
const pick = (o: Obj, camel: string) => o[camel] ?? o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];

/**
 * Turns an `audit.json` config into a model description and an AuditSuite. File references
 * (manifest, asset files, audit log, watermark text) are resolved relative to the config file.
 * Keys may be camelCase or snake_case (fairness also takes fairlearn's y_true/y_pred/sensitive_features).
 */
export async function suiteFromConfig(path: string, tokenizerFor: (name: string) => Promise<TextTokenizer>): Promise<{ model: { name: string; type?: string; parameters?: number }; suite: AuditSuite }> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FormatError('json', `--config ${path}: ${(e as Error).message}`);
  }
  if (!isObj(raw)) throw new FormatError('json', `--config ${path}: expected a JSON object`);
  const base = dirname(resolve(path));
  const file = (p: unknown, what: string) => {
    if (typeof p !== 'string') throw new InvalidArgumentError(`--config: ${what} must be a file path, got ${describe(p)}`);
    try {
      return readFileSync(resolve(base, p));
    } catch (e) {
      throw new InvalidArgumentError(`--config: cannot read ${what} ${p}: ${(e as Error).message}`);
    }
  };
  const m = raw.model;
  const model = typeof m === 'string' ? { name: m } : isObj(m) && typeof m.name === 'string' ? (m as { name: string }) : undefined;
  const card = isObj(raw.card) ? (raw.card as unknown as AuditSuite['card']) : undefined;
  const name = model?.name ?? card?.name;
  if (!name) throw new InvalidArgumentError('--config: give "model": {"name": …} (or a card with a name)');
  const suite: AuditSuite = { card };

  if (isObj(raw.fairness)) {
    const f = raw.fairness;
    for (const k of ['yTrue', 'yPred', 'sensitiveFeatures']) if (pick(f, k) === undefined) throw new InvalidArgumentError(`--config: fairness is missing ${k} (or its snake_case form)`);
    suite.fairness = {
      yTrue: pick(f, 'yTrue') as Label[], yPred: pick(f, 'yPred') as Label[], sensitiveFeatures: pick(f, 'sensitiveFeatures') as SensitiveFeatures,
      sampleWeight: pick(f, 'sampleWeight') as number[] | undefined, maxDifference: pick(f, 'maxDifference') as number | undefined,
    };
  }
  if (isObj(raw.representation)) {
    const r = raw.representation;
    const labels = r.labels, classes = r.classes;
    if (!Array.isArray(labels)) throw new InvalidArgumentError('--config: representation.labels must be an array of class indices (the attribute of each generated sample)');
    if (!Array.isArray(classes)) throw new InvalidArgumentError('--config: representation.classes must list the class names');
    suite.representation = {
      labels: labels as number[], classes: classes as string[], reference: r.reference as number[] | Record<string, number> | undefined,
      confusion: r.confusion as number[][] | undefined, maxTotalVariation: pick(r, 'maxTotalVariation') as number | undefined,
      label: r.label as string | undefined, seed: r.seed as number | undefined,
    };
  }
  if (isObj(raw.privacy)) {
    const p = raw.privacy;
    suite.privacy = { maxEpsilon: pick(p, 'maxEpsilon') as number | undefined };
    const dp = p.dp;
    if (isObj(dp)) {
      suite.privacy.dp = {
        noiseMultiplier: pick(dp, 'noiseMultiplier') as number, sampleRate: pick(dp, 'sampleRate') as number, steps: dp.steps as number,
        delta: (dp.delta as number | undefined) ?? 1e-5, maxGradNorm: pick(dp, 'maxGradNorm') as number | undefined,
      };
      for (const [k, v] of Object.entries(suite.privacy.dp)) if (k !== 'maxGradNorm' && typeof v !== 'number') throw new InvalidArgumentError(`--config: privacy.dp.${k} must be a number, got ${describe(v)}`);
    }
    const mia = p.membership;
    if (isObj(mia)) {
      const ms = pick(mia, 'memberScores'), ns = pick(mia, 'nonMemberScores');
      const ml = pick(mia, 'memberLosses'), nl = pick(mia, 'nonMemberLosses');
      if (Array.isArray(ms) && Array.isArray(ns)) suite.privacy.membership = { memberScores: ms as number[], nonMemberScores: ns as number[] };
      else if (Array.isArray(ml) && Array.isArray(nl)) suite.privacy.membership = { memberScores: (ml as number[]).map((x) => -x), nonMemberScores: (nl as number[]).map((x) => -x) };
      else throw new InvalidArgumentError('--config: privacy.membership needs memberScores/nonMemberScores or memberLosses/nonMemberLosses');
    }
  }
  if (isObj(raw.watermark)) {
    const w = raw.watermark;
    if (typeof w.key !== 'string') throw new InvalidArgumentError('--config: watermark.key is required');
    let tokens = w.tokens as number[] | undefined, vocabSize = pick(w, 'vocabSize') as number | undefined;
    if (!Array.isArray(tokens)) {
      const tok = await tokenizerFor(String(w.tokenizer ?? 'bytes'));
      tokens = tok.encode(file(w.text, 'watermark.text').toString('utf8'));
      vocabSize = tok.vocabSize;
    }
    suite.watermark = { tokens, key: w.key, vocabSize: vocabSize as number, gamma: w.gamma as number | undefined, promptLength: pick(w, 'promptLength') as number | undefined, expected: w.expected as boolean | undefined };
  }
  if (isObj(raw.carbon)) {
    const c = raw.carbon;
    suite.carbon = 'emissionsKg' in c ? (c as unknown as AuditSuite['carbon']) : { energyKWh: (pick(c, 'energyKWh') ?? c.energy_kwh) as number, region: c.region as string | undefined, pue: c.pue as number | undefined };
  }
  if (isObj(raw.provenance)) {
    const pv = raw.provenance;
    const manifest = typeof pv.manifest === 'string' ? JSON.parse(file(pv.manifest, 'provenance.manifest').toString('utf8')) : pv.manifest;
    const files = isObj(pv.files) ? Object.fromEntries(Object.entries(pv.files).map(([k, v]) => [k, new Uint8Array(file(v, `provenance.files.${k}`))])) : undefined;
    suite.provenance = { manifest, files, trustedKeys: pick(pv, 'trustedKeys') as string[] | undefined };
  }
  if (isObj(raw.pii)) {
    const docs = raw.pii.documents;
    if (!Array.isArray(docs) || docs.some((d) => typeof d !== 'string')) throw new InvalidArgumentError('--config: pii.documents must be an array of strings');
    suite.pii = { documents: docs as string[], label: raw.pii.label as string | undefined };
  }
  const log = pick(raw, 'auditLog');
  if (log !== undefined) suite.auditLog = file(log, 'auditLog').toString('utf8');
  return { model: { ...(model ?? {}), name }, suite };
}
