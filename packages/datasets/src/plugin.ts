import { definePlugin } from '@nutshell/core';
import { DATASETS } from './catalog.js';
import { datasetsCommand } from './command.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers every dataset in the `datasets` registry and the `datasets` CLI command. */
export default definePlugin({
  name: '@nutshell/datasets',
  version: PACKAGE_VERSION,
  description: 'MNIST, WordNet, tiny Shakespeare and synthetic datasets with cards',
  register(ctx) {
    for (const entry of DATASETS) ctx.add('datasets', entry.name, entry);
    ctx.add('commands', 'datasets', datasetsCommand);
  },
});
