import { commandHelp, commandUsage, globalHelp } from '../help-text.js';
import { suggest } from '../args.js';
import type { CliCommandSpec, CliState } from '../state.js';
import { UsageError } from '../usage-error.js';
import { GLOBAL_OPTIONS } from '../global-options.js';

export function helpCommand(state: CliState): CliCommandSpec {
  return {
    summary: 'show usage: all commands, or one command\'s arguments and options',
    args: [{ name: 'command', description: 'the command to describe' }],
    needsBackend: false,
    run({ args, kit, print }) {
      const name = args[0];
      if (name === undefined) {
        globalHelp(kit, state.version).forEach(print);
        return {
          version: state.version,
          commands: kit.list('commands').map((n) => ({
            command: n,
            plugin: kit.registries.commands.ownerOf(n) ?? null,
            summary: kit.get('commands', n).summary,
          })),
          globalOptions: GLOBAL_OPTIONS.map((o) => ({ name: o.name, type: o.type, description: o.description })),
        };
      }
      if (!kit.registries.commands.has(name)) {
        throw new UsageError(`unknown command "${name}"${suggest(name, kit.list('commands'), '')}; run "nutshell --help" for the list of commands`);
      }
      const spec = kit.get('commands', name);
      const owner = kit.registries.commands.ownerOf(name);
      commandHelp(name, spec, owner).forEach(print);
      return commandUsage(name, spec, owner);
    },
  };
}
