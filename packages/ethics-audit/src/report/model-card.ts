import { InvalidArgumentError, describe, type MetricResult } from '@nutshell/core';
import type { EmissionsReport } from '../carbon/carbon.js';

/** A model card with the sections of Mitchell et al. 2019 and the Hugging Face metadata. */
export interface ModelCard {
  name: string;
  /** Model details: version, type, developers, date, license, citation, contact. */
  details: { version?: string; type?: string; developers?: string; date?: string; license?: string; citation?: string; contact?: string; description?: string; baseModel?: string; libraryName?: string };
  intendedUse: { primaryUses: string; primaryUsers?: string; outOfScope?: string };
  /** Relevant factors: groups, instrumentation, environment. */
  factors?: string;
  /** Metrics: which, why, and their decision thresholds / variation approaches. */
  metricsRationale?: string;
  evaluation: { datasets: { name: string; id?: string; split?: string; description?: string }[]; motivation?: string; preprocessing?: string };
  trainingData: { datasets: { name: string; id?: string; description?: string }[]; description?: string };
  /** Quantitative analyses: results, optionally per group (unitary and intersectional). */
  results: (MetricResult & { dataset?: string; group?: string; task?: string })[];
  ethicalConsiderations?: string;
  /** Caveats and recommendations, including known limitations. */
  limitations: string;
  carbon?: EmissionsReport;
  tags?: string[];
  language?: string[];
}

/** Refuses a card that leaves out what a reader must know (issue #11). */
export function validateModelCard(card: ModelCard): void {
  const missing: string[] = [];
  if (!card || typeof card !== 'object') throw new InvalidArgumentError(`model card: expected an object, got ${describe(card)}`);
  if (!card.name) missing.push('name');
  if (!card.intendedUse?.primaryUses) missing.push('intendedUse.primaryUses');
  if (!card.trainingData?.datasets?.length && !card.trainingData?.description) missing.push('trainingData');
  if (!card.evaluation?.datasets?.length) missing.push('evaluation.datasets');
  if (!card.results?.length) missing.push('results (evaluation metrics)');
  if (!card.limitations) missing.push('limitations');
  if (missing.length) throw new InvalidArgumentError(`model card for ${describe(card.name)} is missing: ${missing.join(', ')}`);
}

/** YAML scalar: JSON strings are valid YAML and quote everything that needs it. */
const y = (v: unknown): string => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(String(v)));

/** The Hugging Face model-card YAML front matter (model-index, datasets, co2_eq_emissions, …). */
export function modelCardYaml(card: ModelCard): string {
  const L: string[] = [];
  if (card.language?.length) L.push('language:', ...card.language.map((l) => `- ${y(l)}`));
  if (card.details.license) L.push(`license: ${y(card.details.license)}`);
  if (card.details.libraryName) L.push(`library_name: ${y(card.details.libraryName)}`);
  if (card.details.baseModel) L.push(`base_model: ${y(card.details.baseModel)}`);
  if (card.tags?.length) L.push('tags:', ...card.tags.map((t) => `- ${y(t)}`));
  const dataIds = card.trainingData.datasets.map((d) => d.id ?? d.name);
  if (dataIds.length) L.push('datasets:', ...dataIds.map((d) => `- ${y(d)}`));
  const metricTypes = [...new Set(card.results.map((r) => r.name))];
  if (metricTypes.length) L.push('metrics:', ...metricTypes.map((m) => `- ${y(m)}`));
  if (card.carbon) {
    L.push('co2_eq_emissions:', `  emissions: ${y(Number((card.carbon.emissionsKg * 1000).toPrecision(6)))}`,
      `  source: ${y(card.carbon.powerSource === 'rapl' ? 'RAPL measurement, CodeCarbon method' : 'TDP fallback estimate, CodeCarbon method')}`,
      `  training_type: ${y('pre-training')}`, `  geographical_location: ${y(card.carbon.region)}`, `  hardware_used: ${y(card.carbon.hardware)}`);
  }
  // model-index groups results by (task, dataset).
  const groups = new Map<string, ModelCard['results']>();
  for (const r of card.results) {
    const k = JSON.stringify([r.task ?? 'evaluation', r.dataset ?? card.evaluation.datasets[0]!.name]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  L.push('model-index:', `- name: ${y(card.name)}`, '  results:');
  for (const [k, rs] of groups) {
    const [task, dataset] = JSON.parse(k) as [string, string];
    const ds = card.evaluation.datasets.find((d) => d.name === dataset);
    L.push(`  - task:`, `      type: ${y(task)}`, `    dataset:`, `      name: ${y(dataset)}`, `      type: ${y(ds?.id ?? dataset)}`);
    if (ds?.split) L.push(`      split: ${y(ds.split)}`);
    L.push('    metrics:');
    for (const r of rs) {
      L.push(`    - type: ${y(r.name)}`, `      value: ${Number.isFinite(r.value) ? y(r.value) : 'null'}`, `      name: ${y(r.group ? `${r.name} (${r.group})` : r.name)}`);
    }
  }
  return `---\n${L.join('\n')}\n---\n`;
}

interface Section { title: string; body: string[] }

function sections(card: ModelCard): Section[] {
  const d = card.details;
  const kv = (k: string, v?: string) => (v ? [`- **${k}:** ${v}`] : []);
  const fmt = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : 'n/a');
  const resultRows = card.results.map((r) => {
    const ci = r.interval ? ` [${fmt(r.interval.low)}, ${fmt(r.interval.high)}] (${Math.round(r.interval.level * 100)}%)` : '';
    return `| ${r.name} | ${r.group ?? 'all'} | ${r.dataset ?? card.evaluation.datasets[0]!.name} | ${fmt(r.value)}${ci} |`;
  });
  const c = card.carbon;
  return [
    { title: 'Model Details', body: [...(d.description ? [d.description, ''] : []), ...kv('Version', d.version), ...kv('Type', d.type), ...kv('Developed by', d.developers), ...kv('Date', d.date), ...kv('License', d.license), ...kv('Base model', d.baseModel), ...kv('Citation', d.citation), ...kv('Contact', d.contact)] },
    { title: 'Intended Use', body: [...kv('Primary intended uses', card.intendedUse.primaryUses), ...kv('Primary intended users', card.intendedUse.primaryUsers), ...kv('Out-of-scope uses', card.intendedUse.outOfScope)] },
    { title: 'Factors', body: [card.factors ?? 'Not documented.'] },
    { title: 'Metrics', body: [card.metricsRationale ?? `Reported: ${[...new Set(card.results.map((r) => r.name))].join(', ')}.`] },
    { title: 'Evaluation Data', body: [...card.evaluation.datasets.map((ds) => `- ${ds.name}${ds.split ? ` (${ds.split})` : ''}${ds.description ? `: ${ds.description}` : ''}`), ...kv('Motivation', card.evaluation.motivation), ...kv('Preprocessing', card.evaluation.preprocessing)] },
    { title: 'Training Data', body: [...card.trainingData.datasets.map((ds) => `- ${ds.name}${ds.description ? `: ${ds.description}` : ''}`), ...(card.trainingData.description ? [card.trainingData.description] : [])] },
    { title: 'Quantitative Analyses', body: ['| Metric | Group | Dataset | Value |', '|---|---|---|---|', ...resultRows] },
    { title: 'Ethical Considerations', body: [card.ethicalConsiderations ?? 'Not documented.'] },
    { title: 'Caveats and Recommendations', body: [card.limitations] },
    ...(c ? [{ title: 'Environmental Impact', body: [
      `- **Energy:** ${fmt(c.energyKWh)} kWh over ${fmt(c.durationS)} s`,
      `- **Emissions:** ${fmt(c.emissionsKg * 1000)} g CO₂e (grid ${fmt(c.gridIntensity)} g/kWh, ${c.region}, PUE ${c.pue})`,
      `- **Power:** ${c.powerSource === 'rapl' ? 'measured with RAPL' : `**fallback estimate** from a ${c.tdpW} W TDP`} — ${c.note}`,
    ] }] : []),
  ];
}

/** Markdown with the HF YAML front matter; throws when required sections are missing. */
export function renderModelCardMarkdown(card: ModelCard): string {
  validateModelCard(card);
  const body = sections(card).map((s) => `## ${s.title}\n\n${s.body.join('\n')}\n`).join('\n');
  return `${modelCardYaml(card)}\n# Model Card: ${card.name}\n\n${body}`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A standalone HTML page of the same card (all text escaped). */
export function renderModelCardHtml(card: ModelCard): string {
  validateModelCard(card);
  const inline = (s: string) => esc(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
  const block = (lines: string[]) => {
    const out: string[] = [];
    const table = lines.filter((l) => l.startsWith('|'));
    if (table.length) {
      const cells = (l: string) => l.slice(1, -1).split('|').map((c) => c.trim());
      out.push('<table>', `<tr>${cells(table[0]!).map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`, ...table.slice(2).map((l) => `<tr>${cells(l).map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`), '</table>');
    }
    const items = lines.filter((l) => l.startsWith('- '));
    if (items.length) out.push('<ul>', ...items.map((l) => `<li>${inline(l.slice(2))}</li>`), '</ul>');
    for (const l of lines) if (l && !l.startsWith('|') && !l.startsWith('- ')) out.push(`<p>${inline(l)}</p>`);
    return out.join('\n');
  };
  const body = sections(card).map((s) => `<section>\n<h2>${esc(s.title)}</h2>\n${block(s.body)}\n</section>`).join('\n');
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Model Card: ${esc(card.name)}</title></head>\n<body>\n<h1>Model Card: ${esc(card.name)}</h1>\n${body}\n</body>\n</html>\n`;
}
