import { InvalidArgumentError, describe } from '@nutshell/core';

/**
 * A datasheet for a dataset (Gebru et al. 2021, "Datasheets for Datasets"): answers grouped by the
 * paper's seven sections. Each section maps question → answer; `motivation`, `composition` and
 * `uses` must have at least one answer.
 */
export interface Datasheet {
  name: string;
  version?: string;
  license?: string;
  motivation: Record<string, string>;
  composition: Record<string, string>;
  collectionProcess?: Record<string, string>;
  preprocessing?: Record<string, string>;
  uses: Record<string, string>;
  distribution?: Record<string, string>;
  maintenance?: Record<string, string>;
}

/** The paper's key questions, offered as prompts (use them as keys). */
export const DATASHEET_QUESTIONS = Object.freeze({
  motivation: ['For what purpose was the dataset created?', 'Who created the dataset and on behalf of which entity?', 'Who funded the creation of the dataset?'],
  composition: ['What do the instances represent?', 'How many instances are there in total?', 'Is any information missing from individual instances?', 'Does the dataset contain data that might be considered confidential or sensitive?', 'Does the dataset identify any subpopulations (e.g., by age, gender)?'],
  collectionProcess: ['How was the data associated with each instance acquired?', 'Over what timeframe was the data collected?', 'Were the individuals in question notified about the data collection, and did they consent?'],
  preprocessing: ['Was any preprocessing/cleaning/labeling of the data done?', 'Was the "raw" data saved in addition to the preprocessed data?'],
  uses: ['Has the dataset been used for any tasks already?', 'What (other) tasks could the dataset be used for?', 'Are there tasks for which the dataset should not be used?'],
  distribution: ['How will the dataset be distributed?', 'Under which license is it distributed?'],
  maintenance: ['Who will be supporting/hosting/maintaining the dataset?', 'Will the dataset be updated?'],
});

const SECTIONS: [keyof Datasheet, string][] = [
  ['motivation', 'Motivation'], ['composition', 'Composition'], ['collectionProcess', 'Collection Process'],
  ['preprocessing', 'Preprocessing / Cleaning / Labeling'], ['uses', 'Uses'], ['distribution', 'Distribution'], ['maintenance', 'Maintenance'],
];

/** Throws when required sections are empty. */
export function validateDatasheet(d: Datasheet): void {
  if (!d || typeof d !== 'object') throw new InvalidArgumentError(`datasheet: expected an object, got ${describe(d)}`);
  const missing: string[] = [];
  if (!d.name) missing.push('name');
  for (const k of ['motivation', 'composition', 'uses'] as const) if (!d[k] || !Object.values(d[k]).some((v) => typeof v === 'string' && v.trim())) missing.push(k);
  if (missing.length) throw new InvalidArgumentError(`datasheet for ${describe(d.name)} is missing: ${missing.join(', ')}`);
}

function sections(d: Datasheet): { title: string; qa: [string, string][] }[] {
  return SECTIONS.flatMap(([k, title]) => {
    const s = d[k] as Record<string, string> | undefined;
    const qa = Object.entries(s ?? {}).filter(([, a]) => typeof a === 'string' && a.trim());
    return qa.length ? [{ title, qa }] : [];
  });
}

/** Markdown: one heading per section, each question in bold followed by its answer. */
export function renderDatasheetMarkdown(d: Datasheet): string {
  validateDatasheet(d);
  const head = [`# Datasheet: ${d.name}`, '', ...(d.version ? [`- **Version:** ${d.version}`] : []), ...(d.license ? [`- **License:** ${d.license}`] : [])];
  const body = sections(d).map((s) => `## ${s.title}\n\n${s.qa.map(([q, a]) => `**${q}**\n\n${a}\n`).join('\n')}`);
  return `${[...head, ''].join('\n')}\n${body.join('\n')}`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A standalone HTML page of the datasheet (all text escaped). */
export function renderDatasheetHtml(d: Datasheet): string {
  validateDatasheet(d);
  const meta = [d.version ? `Version ${esc(d.version)}` : '', d.license ? `License ${esc(d.license)}` : ''].filter(Boolean).join(' · ');
  const body = sections(d).map((s) => `<section>\n<h2>${esc(s.title)}</h2>\n<dl>\n${s.qa.map(([q, a]) => `<dt>${esc(q)}</dt><dd>${esc(a)}</dd>`).join('\n')}\n</dl>\n</section>`).join('\n');
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Datasheet: ${esc(d.name)}</title></head>\n<body>\n<h1>Datasheet: ${esc(d.name)}</h1>\n${meta ? `<p>${meta}</p>\n` : ''}${body}\n</body>\n</html>\n`;
}
