import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { ByteLevelBPETokenizer } from './bpe.js';
import { bpeFromTokenizerJson, bpeFromVocabMerges, formatMergesTxt, formatTokenizerJson, formatVocabJson } from './bpe-files.js';
import { CharTokenizer } from './char.js';
import type { Tokenizer } from './types.js';
import { WordPieceTokenizer, type WordPieceOptions } from './wordpiece.js';

/**
 * Reading and writing tokenizer files on disk (Node). node:fs is imported lazily so that the rest
 * of the package stays usable in a browser bundle.
 */

async function fs() {
  return import('node:fs/promises');
}

async function readText(path: string, what: string): Promise<string> {
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError(`${what}: expected a file path, got ${JSON.stringify(path)}`);
  try {
    return await (await fs()).readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** GPT-2 style vocab.json + merges.txt. */
export async function loadBPEFiles(vocabPath: string, mergesPath: string, options: { specialTokens?: readonly string[] } = {}): Promise<ByteLevelBPETokenizer> {
  return bpeFromVocabMerges(await readText(vocabPath, 'vocab.json'), await readText(mergesPath, 'merges.txt'), options);
}

/** Hugging Face tokenizer.json (byte-level BPE form). */
export async function loadTokenizerJson(path: string): Promise<ByteLevelBPETokenizer> {
  return bpeFromTokenizerJson(await readText(path, 'tokenizer.json'));
}

/** BERT vocab.txt. */
export async function loadWordPieceVocab(path: string, options: Omit<WordPieceOptions, 'vocab'> = {}): Promise<WordPieceTokenizer> {
  return WordPieceTokenizer.fromVocabTxt(await readText(path, 'vocab.txt'), options);
}

/** Writes tokenizer files into a folder: vocab.json + merges.txt + tokenizer.json (BPE), vocab.txt (WordPiece), char-tokenizer.json (char). Returns the paths written. */
export async function saveTokenizer(tokenizer: Tokenizer, dir: string): Promise<string[]> {
  const { mkdir, writeFile } = await fs();
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [];
  if (tokenizer instanceof ByteLevelBPETokenizer) {
    files.push(['vocab.json', formatVocabJson(tokenizer.getVocab())], ['merges.txt', formatMergesTxt(tokenizer.merges)], ['tokenizer.json', formatTokenizerJson(tokenizer)]);
  } else if (tokenizer instanceof WordPieceTokenizer) {
    files.push(['vocab.txt', tokenizer.toVocabTxt()]);
  } else if (tokenizer instanceof CharTokenizer) {
    files.push(['char-tokenizer.json', JSON.stringify(tokenizer.toJSON())]);
  } else {
    throw new InvalidArgumentError(`saveTokenizer: cannot save a tokenizer of kind ${JSON.stringify((tokenizer as Tokenizer)?.kind)}`);
  }
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return paths;
}

/**
 * Loads whatever tokenizer a model folder holds, first match wins: tokenizer.json, vocab.json +
 * merges.txt, vocab.txt (WordPiece), char-tokenizer.json.
 */
export async function loadTokenizer(dir: string, options: { wordpiece?: Omit<WordPieceOptions, 'vocab'> } = {}): Promise<Tokenizer> {
  const { access, stat } = await fs();
  const { join } = await import('node:path');
  const isDir = await stat(dir).then((st) => st.isDirectory(), () => false);
  if (!isDir) throw new InvalidArgumentError(`loadTokenizer: ${JSON.stringify(dir)} is not a folder`);
  const has = async (name: string) => access(join(dir, name)).then(() => true, () => false);
  if (await has('tokenizer.json')) return loadTokenizerJson(join(dir, 'tokenizer.json'));
  if ((await has('vocab.json')) && (await has('merges.txt'))) return loadBPEFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
  if (await has('vocab.txt')) return loadWordPieceVocab(join(dir, 'vocab.txt'), options.wordpiece);
  if (await has('char-tokenizer.json')) {
    const text = await readText(join(dir, 'char-tokenizer.json'), 'char-tokenizer.json');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new FormatError('char-tokenizer.json', `not valid JSON: ${(err as Error).message}`);
    }
    return CharTokenizer.fromJSON(json);
  }
  throw new InvalidArgumentError(`loadTokenizer: ${dir} has no tokenizer.json, vocab.json + merges.txt, vocab.txt or char-tokenizer.json`);
}
