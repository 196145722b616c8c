import { InvalidArgumentError, describe, type MetricResult, type Tensor } from '@nutshell/core';
import { Module } from '@nutshell/nn';
import { AUDITS, type Finding, type RepresentationAuditInput, type Severity } from '../audits.js';
import { estimateEmissions, type EmissionsReport } from '../carbon/carbon.js';
import type { GroupMetricInput } from '../fairness/group-metrics.js';
import { fairnessSummary } from '../fairness/group-metrics.js';
import type { MembershipEvaluation } from '../membership/shadow.js';
import type { MembershipAudit } from '../membership/membership-audit.js';
import type { AttributeClassifier } from '../fairness/attribute-classifier.js';
import type { RepresentationReport } from '../fairness/representation.js';
import type { MembershipReport } from '../membership/roc.js';
import { membershipReport } from '../membership/roc.js';
import { PrivateTraining } from '../privacy/make-private.js';
import { scanPiiCorpus } from '../privacy/pii.js';
import { rdpEpsilon } from '../privacy/rdp.js';
import type { DetectOptions } from '../watermark/detect.js';
import { modelCardYaml, renderModelCardHtml, renderModelCardMarkdown, validateModelCard, type ModelCard } from './model-card.js';

/** A DP-SGD run as the accountant needs it. */
export interface DPRunSummary {
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
  delta: number;
  maxGradNorm?: number;
}

/** What to audit for one model; every part is optional and each present part becomes findings. */
export interface AuditSuite {
  /** The model card; the report embeds it (with ε, attack AUCs, fairness gaps and carbon added to its results). */
  card?: ModelCard;
  /** Predictions by group (fairlearn conventions); `maxDifference` (default 0.1) sets the severity. */
  fairness?: GroupMetricInput & { maxDifference?: number };
  /**
   * Representation of an attribute in generated samples against a reference distribution: the samples'
   * labels, or an attribute classifier (e.g. trainAttributeClassifier) and the samples to label.
   */
  representation?: Omit<RepresentationAuditInput, 'labels' | 'classes'> & { classes?: readonly string[] } & ({ labels: ArrayLike<number> } | { classifier: AttributeClassifier; samples: Tensor });
  privacy?: {
    /** The DP-SGD run: a makePrivate result or its summary. */
    dp?: PrivateTraining<any> | DPRunSummary; // eslint-disable-line @typescript-eslint/no-explicit-any
    /** ε above this is 'high' (default 10). */
    maxEpsilon?: number;
    /** Attack results: membershipAudit or evaluateMembership output, or raw member / non-member scores (higher = member). */
    membership?: MembershipEvaluation | { memberScores: number[]; nonMemberScores: number[] };
  };
  /** Generated tokens to test for the green-list watermark; `expected` says whether it should be there. */
  watermark?: { tokens: number[]; expected?: boolean } & DetectOptions;
  /** The training run's emissions (measureEmissions report) or an energy figure to convert. */
  carbon?: EmissionsReport | { energyKWh: number; region?: string; pue?: number };
  provenance?: { manifest: unknown; files?: Record<string, Uint8Array | string>; trustedKeys?: string[] };
  /** An audit log (JSON lines) whose hash chain is checked. */
  auditLog?: string;
  /** Texts (training rows or generated samples) to scan for e-mails, phones, cards, IBANs and IPs. */
  pii?: { documents: string[]; label?: string };
}

export interface AuditReport {
  format: 'nutshell-audit/1';
  model: { name: string; type?: string; parameters?: number };
  created: string;
  /** The worst severity among the findings. */
  severity: Severity;
  findings: Finding[];
  /** The card with audit results merged in; absent when none was given or it failed validation (see findings). */
  card?: ModelCard;
}

const ORDER: Severity[] = ['info', 'low', 'medium', 'high'];
const worst = (fs: Finding[]): Severity => fs.reduce<Severity>((w, f) => (ORDER.indexOf(f.severity) > ORDER.indexOf(w) ? f.severity : w), 'info');

function runEntry(name: string, input: unknown): Promise<Finding[]> | Finding[] {
  const entry = AUDITS.find((a) => a.name === name)!;
  return entry.run(input as never);
}

function miaFinding(check: string, r: MembershipReport): Finding {
  const sev: Severity = r.tpr_at_0_1pct_fpr > 0.05 || r.auc > 0.7 ? 'high' : r.auc > 0.6 ? 'medium' : 'info';
  return { check, severity: sev, value: r.auc, message: `AUC ${r.auc.toFixed(3)}, TPR ${(100 * r.tpr_at_0_1pct_fpr).toFixed(2)}% at 0.1% FPR, ${(100 * r.tpr_at_1pct_fpr).toFixed(2)}% at 1% FPR`, details: r };
}

function isEmissions(c: AuditSuite['carbon']): c is EmissionsReport {
  return !!c && typeof c === 'object' && 'emissionsKg' in c;
}

/**
 * Audits one model: runs every part of the suite that is present and returns findings with
 * severities, plus the model card with the audit's numbers added to its results. Render with
 * `renderAuditMarkdown` (HF YAML front matter) or `renderAuditHtml`.
 */
export async function audit(model: Module | { name: string; type?: string; parameters?: number } | string, suite: AuditSuite): Promise<AuditReport> {
  if (!suite || typeof suite !== 'object') throw new InvalidArgumentError(`audit: expected a suite object, got ${describe(suite)}`);
  // Duck-typed too, so a Module from another copy of @nutshell/nn is recognised.
  const isModule = model instanceof Module || (!!model && typeof model === 'object' && typeof (model as unknown as Module).parameters === 'function' && typeof (model as unknown as Module).forward === 'function');
  const info: AuditReport['model'] = isModule
    ? { name: suite.card?.name ?? model.constructor.name, type: model.constructor.name, parameters: (model as unknown as Module).parameters().reduce((s, p) => s + p.size, 0) }
    : typeof model === 'string' ? { name: model } : { ...model };
  if (!info.name) throw new InvalidArgumentError('audit: the model needs a name');
  const findings: Finding[] = [];
  const results: ModelCard['results'] = [];
  const add = (r: MetricResult & { dataset?: string; group?: string }) => results.push(r);

  if (suite.fairness) {
    findings.push(...(await runEntry('fairness', suite.fairness)));
    const s = fairnessSummary(suite.fairness);
    add({ name: 'demographic_parity_difference', value: s.demographic_parity_difference, higherIsBetter: false });
    add({ name: 'equalized_odds_difference', value: s.equalized_odds_difference, higherIsBetter: false });
  }
  if (suite.representation) {
    const r = suite.representation;
    let labels: ArrayLike<number>, classes = r.classes;
    if ('classifier' in r) {
      if (!r.classifier || typeof r.classifier.predict !== 'function') throw new InvalidArgumentError(`audit: representation.classifier must be an AttributeClassifier { classes, predict }, got ${describe(r.classifier)}`);
      labels = await r.classifier.predict(r.samples);
      classes ??= r.classifier.classes;
    } else labels = r.labels;
    if (!classes) throw new InvalidArgumentError('audit: representation needs classes (or a classifier that has them)');
    const f = await runEntry('representation', { ...r, labels, classes });
    findings.push(...f);
    const rep = f[0]!.details as RepresentationReport;
    add({ name: 'representation_total_variation', value: rep.totalVariation.value, higherIsBetter: false });
    add({ name: 'representation_min_max_ratio', value: rep.minMaxRatio, higherIsBetter: true });
  }
  const p = suite.privacy;
  if (p?.dp) {
    const d: DPRunSummary = p.dp instanceof PrivateTraining ? p.dp.privacySummary() : p.dp;
    if (d.noiseMultiplier === 0 || d.steps === 0) {
      findings.push({ check: 'dp-epsilon', severity: d.steps === 0 ? 'info' : 'high', value: d.steps === 0 ? 0 : Infinity, message: d.steps === 0 ? 'no DP-SGD steps taken' : 'σ = 0: the run has no differential-privacy guarantee (ε = ∞)' });
    } else {
      const f = await runEntry('dp-epsilon', { ...d, maxEpsilon: p.maxEpsilon });
      if (d.maxGradNorm !== undefined) f[0]!.message += `, C = ${d.maxGradNorm}, σ = ${d.noiseMultiplier}, q = ${d.sampleRate}, ${d.steps} steps`;
      findings.push(...f);
      add({ name: 'dp_epsilon', value: rdpEpsilon(d.sampleRate, d.noiseMultiplier, d.steps, d.delta).epsilon, higherIsBetter: false, signature: `RDP, δ = ${d.delta}` });
    }
  }
  if (p?.membership) {
    const m = p.membership;
    const attacks: [string, MembershipReport][] = 'memberScores' in m
      ? [['membership-inference', membershipReport(m.memberScores, m.nonMemberScores)]]
      : [['membership-inference/loss', m.loss], ...(m.liraOnline ? [['membership-inference/lira-online', m.liraOnline] as [string, MembershipReport]] : []), ...(m.liraOffline ? [['membership-inference/lira-offline', m.liraOffline] as [string, MembershipReport]] : [])];
    // A membershipAudit result carries the ε of the target and its shadows: report it next to the AUC.
    const priv = 'privacy' in m ? (m as MembershipAudit).privacy : undefined;
    const note = priv?.target ? `; target ${priv.target.dp ? `DP-SGD ε = ${priv.target.epsilon.toFixed(2)} (δ = ${priv.target.delta})` : 'not DP-trained (ε = ∞)'}, ${priv.shadows.length} shadows ${priv.shadowsMatchTarget ? 'trained alike' : 'trained differently'}` : '';
    for (const [name, r] of attacks) {
      const f = miaFinding(name, r);
      f.message += note;
      findings.push(f);
      add({ name: `${name.replace('membership-inference', 'mia')}_auc`.replace('/', '_'), value: r.auc, higherIsBetter: false });
    }
  }
  if (suite.watermark) {
    const f = await runEntry('watermark', suite.watermark);
    const wm = suite.watermark.expected;
    const detected = (f[0]!.details as { detected: boolean }).detected;
    if (wm !== undefined && wm !== detected) {
      f[0]!.severity = 'high';
      f[0]!.message += wm ? ' — expected a watermark on generated text' : ' — a watermark was not expected';
    }
    findings.push(...f);
  }
  let carbon: EmissionsReport | undefined;
  if (suite.carbon) {
    const c = suite.carbon;
    if (isEmissions(c)) carbon = c;
    else {
      if (!(typeof c.energyKWh === 'number' && c.energyKWh >= 0)) throw new InvalidArgumentError(`audit: carbon.energyKWh must be a number >= 0, got ${describe(c.energyKWh)}`);
      const e = estimateEmissions(c.energyKWh, c.region, c.pue ?? 1);
      carbon = { durationS: 0, cpuTimeS: 0, powerW: 0, powerSource: 'tdp-fallback', fallback: true, pue: c.pue ?? 1, energyKWh: c.energyKWh, region: e.region, gridIntensity: e.gridIntensity, gridSource: e.source, emissionsKg: e.emissionsKg, hardware: 'unknown', note: 'energy given by the user, not measured' };
    }
    findings.push({ check: 'carbon', severity: 'info', value: carbon.emissionsKg, message: `${(carbon.emissionsKg * 1000).toPrecision(3)} g CO₂e from ${carbon.energyKWh.toPrecision(3)} kWh (${carbon.region}, ${carbon.gridIntensity} g/kWh)${carbon.fallback ? '; power is a fallback estimate' : ''}`, details: carbon });
  }
  if (suite.pii) {
    const r = scanPiiCorpus(suite.pii.documents);
    const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
    const what = Object.entries(r.counts).filter(([, n]) => n).map(([t, n]) => `${n} ${t}`).join(', ');
    findings.push({ check: 'pii', severity: total ? 'high' : 'info', value: total, message: total ? `${r.documentsWithPii} of ${r.documents} ${suite.pii.label ?? 'documents'} contain PII (${what})` : `no PII found in ${r.documents} ${suite.pii.label ?? 'documents'}`, details: { ...r, examples: r.examples.map((e) => ({ ...e, value: `${e.value.slice(0, 3)}…` })) } });
  }
  if (suite.provenance) findings.push(...(await runEntry('provenance', suite.provenance)));
  if (suite.auditLog !== undefined) findings.push(...(await runEntry('audit-log', { jsonl: suite.auditLog })));

  let card: ModelCard | undefined;
  if (suite.card) {
    const merged: ModelCard = { ...suite.card, results: [...(suite.card.results ?? []), ...results.filter((r) => !suite.card!.results?.some((c) => c.name === r.name))], carbon: suite.card.carbon ?? carbon };
    try {
      validateModelCard(merged);
      card = merged;
      findings.push({ check: 'model-card', severity: 'info', message: 'model card complete (intended use, training data, evaluation, limitations)' });
    } catch (e) {
      findings.push({ check: 'model-card', severity: 'high', message: (e as Error).message });
    }
  } else {
    findings.push({ check: 'model-card', severity: 'medium', message: 'no model card given' });
  }
  return { format: 'nutshell-audit/1', model: info, created: new Date().toISOString(), severity: worst(findings), findings, card };
}

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown: HF YAML front matter (when a card is present), the findings table, then the model card. */
export function renderAuditMarkdown(report: AuditReport): string {
  const L: string[] = [];
  if (report.card) L.push(modelCardYaml(report.card));
  L.push(`# Audit report: ${report.model.name}`, '');
  L.push(`- **Created:** ${report.created}`, `- **Overall severity:** ${report.severity}`);
  if (report.model.parameters !== undefined) L.push(`- **Parameters:** ${report.model.parameters}`);
  L.push('', '## Findings', '', '| check | severity | value | finding |', '|---|---|---|---|');
  for (const f of report.findings) L.push(`| ${f.check} | ${f.severity} | ${f.value === undefined ? '' : fmt(f.value)} | ${mdCell(f.message)} |`);
  if (report.card) {
    const card = renderModelCardMarkdown(report.card);
    L.push('', card.slice(card.indexOf('\n# ') + 1).replace(/^# /m, '## ').replace(/^## (?!Model Card)/gm, '### '));
  }
  return `${L.join('\n')}\n`;
}

const SEV_COLOR: Record<Severity, string> = { info: '#2e7d32', low: '#6d8f00', medium: '#e08a00', high: '#c62828' };

/** A standalone HTML page: findings (colour-coded), their details, and the model card. Everything is escaped. */
export function renderAuditHtml(report: AuditReport): string {
  const rows = report.findings.map((f) => `<tr><td>${esc(f.check)}</td><td style="color:${SEV_COLOR[f.severity]};font-weight:bold">${f.severity}</td><td>${f.value === undefined ? '' : esc(fmt(f.value))}</td><td>${esc(f.message)}</td></tr>`).join('\n');
  const details = report.findings.filter((f) => f.details !== undefined).map((f) => `<details><summary>${esc(f.check)}</summary><pre>${esc(JSON.stringify(f.details, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2))}</pre></details>`).join('\n');
  let cardHtml = '';
  if (report.card) {
    const full = renderModelCardHtml(report.card);
    cardHtml = full.slice(full.indexOf('<body>') + 6, full.indexOf('</body>'));
  }
  const meta = [`Created ${esc(report.created)}`, `overall severity <strong style="color:${SEV_COLOR[report.severity]}">${report.severity}</strong>`, ...(report.model.parameters !== undefined ? [`${report.model.parameters} parameters`] : [])].join(' · ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Audit report: ${esc(report.model.name)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}pre{background:#f6f6f6;padding:.5rem;overflow:auto}</style></head>
<body>
<h1>Audit report: ${esc(report.model.name)}</h1>
<p>${meta}</p>
<h2>Findings</h2>
<table>
<tr><th>check</th><th>severity</th><th>value</th><th>finding</th></tr>
${rows}
</table>
${details}
${cardHtml}
</body>
</html>
`;
}
