import { definePlugin } from '@nutshell/core';
import { tokenizeCommand } from './command.js';
import { TOKENIZER_FACTORIES } from './tokenizers/registry.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers the tokenizer factories in the `tokenizers` registry and the `tokenize` CLI command. */
export default definePlugin({
  name: '@nutshell/transformer',
  version: PACKAGE_VERSION,
  description: 'GPT-2 byte-level BPE, WordPiece and character tokenizers',
  register(ctx) {
    for (const [name, factory] of Object.entries(TOKENIZER_FACTORIES)) ctx.add('tokenizers', name, factory);
    ctx.add('commands', 'tokenize', tokenizeCommand);
  },
});
