import { InvalidArgumentError, type CommandSpec } from '@nutshell/core';
import type { TokenizerFactory } from './tokenizers/registry.js';

/**
 * `nutshell tokenize [--tokenizer NAME] [--vocab F --merges F | --file F | --dir D | --corpus F] TEXT…`:
 * prints ids and tokens (or, with --decode, turns ids back into text).
 */
export const tokenizeCommand: CommandSpec = {
  summary: 'encode text to token ids and tokens (or decode ids) with a BPE, WordPiece or char tokenizer',
  description:
    'Tokenizers come from the tokenizers registry: gpt2-files (--vocab vocab.json --merges merges.txt), tokenizer-json (--file tokenizer.json), ' +
    'wordpiece (--vocab vocab.txt [--cased]), char (--corpus FILE), dir (--dir a model folder). Without --tokenizer, the one the given files imply is used. ' +
    'Special tokens such as <|endoftext|> are single tokens unless --no-special is given.',
  args: [{ name: 'text', description: 'text to encode (several arguments are joined by spaces); with --decode, ids separated by commas or spaces', required: true }],
  options: [
    { name: 'tokenizer', type: 'string', description: 'gpt2-files, tokenizer-json, wordpiece, char or dir' },
    { name: 'vocab', type: 'string', description: 'vocab.json (gpt2-files) or vocab.txt (wordpiece)' },
    { name: 'merges', type: 'string', description: 'merges.txt (gpt2-files)' },
    { name: 'file', type: 'string', description: 'tokenizer.json (tokenizer-json)' },
    { name: 'dir', type: 'string', description: 'model folder with tokenizer files (dir)' },
    { name: 'corpus', type: 'string', description: 'text file whose characters form the vocabulary (char)' },
    { name: 'cased', type: 'boolean', description: 'wordpiece: keep case and accents', default: false },
    { name: 'no-special', type: 'boolean', description: 'treat special-token text as ordinary text', default: false },
    { name: 'decode', type: 'boolean', description: 'the arguments are ids; print their text', default: false },
  ],
  async run({ args, options, kit, print }) {
    let name = typeof options.tokenizer === 'string' ? options.tokenizer : undefined;
    if (!name) {
      if (options.merges) name = 'gpt2-files';
      else if (options.file) name = 'tokenizer-json';
      else if (options.dir) name = 'dir';
      else if (options.corpus) name = 'char';
      else if (options.vocab) name = 'wordpiece';
      else throw new InvalidArgumentError('tokenize: give --tokenizer with its files, e.g. --tokenizer gpt2-files --vocab vocab.json --merges merges.txt');
    }
    const factory = kit.get('tokenizers', name) as TokenizerFactory;
    const tokenizer = await factory.create(options);
    if (!args.length) throw new InvalidArgumentError('tokenize: give the text to tokenize (or ids, with --decode)');
    if (options.decode) {
      const parts = args.join(' ').split(/[\s,]+/).filter(Boolean);
      const ids = parts.map((p) => {
        if (!/^\d+$/.test(p)) throw new InvalidArgumentError(`tokenize --decode: ${JSON.stringify(p)} is not a token id`);
        return Number(p);
      });
      const text = tokenizer.decode(ids);
      print(text);
      return { tokenizer: name, ids, text };
    }
    const text = args.join(' ');
    const tokens = tokenizer.tokenize(text, { allowedSpecial: options['no-special'] ? 'none' : 'all' });
    const ids = tokens.map((t) => t.id);
    print(`${ids.length} tokens (vocabulary of ${tokenizer.vocabSize})`);
    for (const t of tokens) print(`${String(t.id).padStart(7)}  ${JSON.stringify(t.token)}`);
    return { tokenizer: name, vocabSize: tokenizer.vocabSize, count: ids.length, ids, tokens: tokens.map((t) => t.token) };
  },
};
