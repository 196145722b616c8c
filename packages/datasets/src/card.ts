import { InvalidArgumentError } from '@nutshell/core';

export interface DatasetField {
  name: string;
  /** e.g. "float32[28,28,1] in [0,1]", "int32 in 0..9", "string". */
  type: string;
  description: string;
}

/**
 * A dataset card in the spirit of Hugging Face dataset cards: where the data comes from, under
 * which license, how big it is, what each field means and how splits are made. Plain data, so an
 * ethics-audit model card can embed it (`renderCard` gives Markdown).
 */
export interface DatasetCard {
  /** Registry name, e.g. "mnist". */
  name: string;
  title: string;
  description: string;
  source: { name: string; url?: string; package?: string; version?: string; citation?: string };
  /** `spdx`: an SPDX id or "LicenseRef-…"; `notice`: text that must travel with the data. */
  license: { spdx: string; name?: string; url?: string; notice?: string };
  size: { examples: number; bytes?: number; note?: string };
  fields: DatasetField[];
  /** How the split is made (deterministic rule and default seed). */
  splits: string;
  tasks?: string[];
  /** Known biases, gaps and caveats. */
  limitations?: string[];
  /** Files with their expected SHA-256, for datasets fetched by URL. */
  files?: { path: string; sha256: string; bytes?: number; url?: string }[];
}

/** Validates a card's required fields now so a bad card fails where it is written. */
export function defineCard(card: DatasetCard): Readonly<DatasetCard> {
  for (const key of ['name', 'title', 'description', 'splits'] as const) {
    if (typeof card[key] !== 'string' || card[key].length === 0) {
      throw new InvalidArgumentError(`dataset card: "${key}" must be a non-empty string, got ${JSON.stringify(card[key])}`);
    }
  }
  if (!card.source?.name) throw new InvalidArgumentError(`dataset card ${card.name}: source.name is required`);
  if (!card.license?.spdx) throw new InvalidArgumentError(`dataset card ${card.name}: license.spdx is required`);
  if (!Number.isInteger(card.size?.examples) || card.size.examples < 0) {
    throw new InvalidArgumentError(`dataset card ${card.name}: size.examples must be a non-negative integer, got ${card.size?.examples}`);
  }
  if (!Array.isArray(card.fields) || card.fields.length === 0) throw new InvalidArgumentError(`dataset card ${card.name}: list at least one field`);
  return Object.freeze(card);
}

/** The card as Markdown (license notice included verbatim). */
export function renderCard(card: DatasetCard): string {
  const lines: string[] = [`# ${card.title} (\`${card.name}\`)`, '', card.description, ''];
  const src = card.source;
  lines.push('## Source', '');
  lines.push(`- ${src.name}${src.url ? ` — ${src.url}` : ''}`);
  if (src.package) lines.push(`- npm package: \`${src.package}${src.version ? `@${src.version}` : ''}\``);
  if (src.citation) lines.push(`- Citation: ${src.citation}`);
  lines.push('', '## License', '', `${card.license.name ?? card.license.spdx} (${card.license.spdx})${card.license.url ? ` — ${card.license.url}` : ''}`);
  if (card.license.notice) lines.push('', '```text', card.license.notice.trimEnd(), '```');
  lines.push('', '## Size', '', `- examples: ${card.size.examples.toLocaleString('en-US')}`);
  if (card.size.bytes !== undefined) lines.push(`- bytes: ${card.size.bytes.toLocaleString('en-US')}`);
  if (card.size.note) lines.push(`- ${card.size.note}`);
  lines.push('', '## Fields', '', '| field | type | description |', '|---|---|---|');
  for (const f of card.fields) lines.push(`| ${f.name} | ${f.type} | ${f.description} |`);
  lines.push('', '## Splits', '', card.splits);
  if (card.files?.length) {
    lines.push('', '## Files', '', '| path | sha256 | bytes |', '|---|---|---|');
    for (const f of card.files) lines.push(`| ${f.path} | ${f.sha256} | ${f.bytes ?? ''} |`);
  }
  if (card.tasks?.length) lines.push('', '## Tasks', '', ...card.tasks.map((t) => `- ${t}`));
  if (card.limitations?.length) lines.push('', '## Limitations', '', ...card.limitations.map((t) => `- ${t}`));
  return `${lines.join('\n')}\n`;
}
