import { InvalidArgumentError } from '@nutshell/core';
import { CharTokenizer } from './char.js';
import { loadBPEFiles, loadTokenizer, loadTokenizerJson, loadWordPieceVocab } from './files.js';
import type { Tokenizer } from './types.js';

/** What this package puts in the `tokenizers` registry: a named way to build a tokenizer from options. */
export interface TokenizerFactory {
  summary: string;
  /** Option names `create` reads, for help texts. */
  options: readonly string[];
  create(options: Readonly<Record<string, unknown>>): Promise<Tokenizer>;
}

function str(options: Readonly<Record<string, unknown>>, name: string, factory: string): string {
  const v = options[name];
  if (typeof v !== 'string' || !v) throw new InvalidArgumentError(`tokenizer ${factory}: option "${name}" (a file path) is required`);
  return v;
}

export const TOKENIZER_FACTORIES: Readonly<Record<string, TokenizerFactory>> = {
  'gpt2-files': {
    summary: 'byte-level BPE from GPT-2 style vocab.json + merges.txt',
    options: ['vocab', 'merges'],
    create: async (o) => loadBPEFiles(str(o, 'vocab', 'gpt2-files'), str(o, 'merges', 'gpt2-files')),
  },
  'tokenizer-json': {
    summary: 'byte-level BPE from a Hugging Face tokenizer.json',
    options: ['file'],
    create: async (o) => loadTokenizerJson(str(o, 'file', 'tokenizer-json')),
  },
  wordpiece: {
    summary: 'BERT WordPiece from vocab.txt (lower-cased unless cased is set)',
    options: ['vocab', 'cased'],
    create: async (o) => loadWordPieceVocab(str(o, 'vocab', 'wordpiece'), { lowerCase: o.cased !== true }),
  },
  char: {
    summary: 'one token per character of a corpus file (nanoGPT shakespeare-char style)',
    options: ['corpus'],
    create: async (o) => {
      const { readFile } = await import('node:fs/promises');
      const path = str(o, 'corpus', 'char');
      const text = await readFile(path, 'utf8').catch((err: Error) => {
        throw new InvalidArgumentError(`tokenizer char: cannot read ${path}: ${err.message}`);
      });
      return CharTokenizer.fromText(text);
    },
  },
  dir: {
    summary: 'whatever tokenizer files a model folder holds (tokenizer.json, vocab.json + merges.txt, vocab.txt, char-tokenizer.json)',
    options: ['dir'],
    create: async (o) => loadTokenizer(str(o, 'dir', 'dir')),
  },
};
