import { definePlugin } from '@nutshell/core';
import type { NutshellPlugin } from '@nutshell/core';
import { backendsCommand } from './commands/backends.js';
import { demoCommand } from './commands/demo.js';
import { helpCommand } from './commands/help.js';
import { inspectCommand } from './commands/inspect.js';
import { pluginsCommand } from './commands/plugins.js';
import { safetensorsFormat } from './formats/safetensors.js';
import type { CliState } from './state.js';

/** The CLI's own commands, mounted the same way as any installed plugin's. */
export function createCliPlugin(state: CliState): NutshellPlugin {
  return definePlugin({
    name: '@nutshell/cli',
    version: state.version,
    description: 'the commands built into the nutshell CLI',
    register(ctx) {
      ctx.add('commands', 'help', helpCommand(state));
      ctx.add('commands', 'plugins', pluginsCommand(state));
      ctx.add('commands', 'backends', backendsCommand());
      ctx.add('commands', 'inspect', inspectCommand());
      ctx.add('commands', 'demo', demoCommand());
      ctx.add('formats', 'safetensors', safetensorsFormat);
    },
  });
}
