import { definePlugin } from '@nutshell/core';
import { generateCommand } from './cli/generate-command.js';
import { scoreCommand } from './cli/score-command.js';
import { trainCommand } from './cli/train-command.js';
import { tokenizeCommand } from './command.js';
import { loadGpt2, saveGpt2 } from './models/gpt/hf.js';
import { GPT } from './models/gpt/model.js';
import { loadBert, saveBert } from './models/bert/hf.js';
import { BertForMaskedLM } from './models/bert/mlm.js';
import { TOKENIZER_FACTORIES } from './tokenizers/registry.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers the tokenizer factories, the `gpt` model and the CLI commands tokenize, generate, score and train. */
export default definePlugin({
  name: '@nutshell/transformer',
  version: PACKAGE_VERSION,
  description: 'GPT decoder (HF GPT-2 checkpoints, generation, training) and GPT-2 BPE, WordPiece and character tokenizers',
  register(ctx) {
    for (const [name, factory] of Object.entries(TOKENIZER_FACTORIES)) ctx.add('tokenizers', name, factory);
    ctx.add('commands', 'tokenize', tokenizeCommand);
    ctx.add('commands', 'generate', generateCommand);
    ctx.add('commands', 'score', scoreCommand);
    ctx.add('commands', 'train', trainCommand);
    ctx.add('models', 'gpt', { create: (config: ConstructorParameters<typeof GPT>[0], options?: ConstructorParameters<typeof GPT>[1]) => new GPT(config, options), load: loadGpt2, save: saveGpt2, class: GPT });
    // BERT: create builds the MLM model; load picks the class from config.json's architectures.
    ctx.add('models', 'bert', { create: (config: ConstructorParameters<typeof BertForMaskedLM>[0], options?: ConstructorParameters<typeof BertForMaskedLM>[1]) => new BertForMaskedLM(config, options), load: loadBert, save: saveBert, class: BertForMaskedLM });
  },
});
