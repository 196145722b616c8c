import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@nutshell/core';
import { defineCard } from '../card.js';
import { resolveRemoteFile, type RemoteFile, type RemoteOptions, type ResolvedFile } from './resolve.js';

export const TINY_SHAKESPEARE: RemoteFile = Object.freeze({
  dataset: 'tinyshakespeare',
  url: 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt',
  sha256: '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed',
  bytes: 1_115_394,
  relativePath: 'tinyshakespeare/input.txt',
});

export const TINY_SHAKESPEARE_CARD = defineCard({
  name: 'tinyshakespeare',
  title: 'Tiny Shakespeare (character-level language modelling corpus)',
  description: 'About 40,000 lines of Shakespeare plays concatenated into one 1.1 MB text file, as used by char-rnn and nanoGPT.',
  source: { name: 'karpathy/char-rnn, data/tinyshakespeare/input.txt', url: TINY_SHAKESPEARE.url },
  license: { spdx: 'LicenseRef-PublicDomain', name: "Public domain (Shakespeare's works)" },
  size: { examples: 1, bytes: TINY_SHAKESPEARE.bytes, note: '1,115,394 characters (65 distinct), one document' },
  fields: [{ name: 'text', type: 'string', description: 'the whole corpus' }],
  splits: 'Contiguous: the first 90% of characters are train, the rest validation (nanoGPT convention); `valFraction` changes the cut.',
  tasks: ['character-level language modelling'],
  limitations: ['Early-modern English drama only; speaker names and line breaks are part of the text.'],
  files: [{ path: TINY_SHAKESPEARE.relativePath, sha256: TINY_SHAKESPEARE.sha256, bytes: TINY_SHAKESPEARE.bytes, url: TINY_SHAKESPEARE.url }],
});

export interface TextCorpus {
  text: string;
  train: string;
  validation: string;
  file: ResolvedFile;
  card: typeof TINY_SHAKESPEARE_CARD;
}

/**
 * Tiny Shakespeare from an explicit path, the data folder (NUTSHELL_DATA_DIR), the cache, or — only
 * with `download: true` — its URL; always checked against its SHA-256.
 */
export async function loadTinyShakespeare(options: RemoteOptions & { valFraction?: number } = {}): Promise<TextCorpus> {
  const valFraction = options.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) throw new InvalidArgumentError(`loadTinyShakespeare: valFraction must be in (0, 1), got ${valFraction}`);
  const file = await resolveRemoteFile(TINY_SHAKESPEARE, options);
  const text = await readFile(file.path, 'utf8');
  const cut = Math.round(text.length * (1 - valFraction));
  return { text, train: text.slice(0, cut), validation: text.slice(cut), file, card: TINY_SHAKESPEARE_CARD };
}
