import type { CommandArgument, CommandOption, CommandSpec, Kit } from '@nutshell/core';
import { GLOBAL_OPTIONS } from './global-options.js';

/** `nutshell --help`: every command, grouped with its plugin, and the global options. */
export function globalHelp(kit: Kit, version: string): string[] {
  const names = kit.list('commands');
  const width = Math.max(8, ...names.map((n) => n.length));
  const lines = [
    `nutshell ${version}: tensors, backends and models from the command line`,
    '',
    'Usage: nutshell <command> [args] [--options]',
    '',
    'Commands:',
  ];
  for (const name of names) {
    const spec = kit.get('commands', name);
    const owner = kit.registries.commands.ownerOf(name);
    const from = owner && owner !== '@nutshell/cli' ? `  [${owner}]` : '';
    lines.push(`  ${name.padEnd(width)}  ${spec.summary}${from}`);
  }
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS), '');
  lines.push('Run "nutshell help <command>" or "nutshell <command> --help" for its arguments and options.');
  return lines;
}

/** `nutshell help <cmd>`: usage line, description, arguments, options. */
export function commandHelp(name: string, spec: CommandSpec, owner: string | undefined): string[] {
  const args = spec.args ?? [];
  const options = spec.options ?? [];
  const usage = ['nutshell', name, ...args.map(argLabel), options.length ? '[options]' : ''].filter(Boolean).join(' ');
  const lines = [`Usage: ${usage}`, '', spec.summary];
  if (spec.description) lines.push('', ...spec.description.split('\n'));
  if (args.length) {
    const width = Math.max(...args.map((a) => argName(a).length));
    lines.push('', 'Arguments:');
    for (const a of args) lines.push(`  ${argName(a).padEnd(width)}  ${a.description}${a.required ? '' : ' (optional)'}`);
  }
  if (options.length) lines.push('', 'Options:', ...optionLines(options));
  // A command's own option of the same name replaces the global one when parsing; list it once.
  const globals = GLOBAL_OPTIONS.filter((g) => !options.some((o) => o.name === g.name));
  lines.push('', 'Global options:', ...optionLines(globals));
  if (owner) lines.push('', `Provided by plugin ${owner}.`);
  return lines;
}

/** Machine-readable form of one command's usage, for `nutshell help <cmd> --json`. */
export function commandUsage(name: string, spec: CommandSpec, owner: string | undefined) {
  return {
    command: name,
    plugin: owner ?? null,
    summary: spec.summary,
    description: spec.description ?? null,
    args: (spec.args ?? []).map((a) => ({ name: a.name, description: a.description, required: !!a.required })),
    options: (spec.options ?? []).map(optionUsage),
    globalOptions: GLOBAL_OPTIONS.map(optionUsage),
  };
}

function optionUsage(o: CommandOption) {
  return { name: o.name, type: o.type, description: o.description, default: o.default ?? null, short: o.short ?? null };
}

function optionLines(options: readonly CommandOption[]): string[] {
  const labels = options.map((o) => `${o.short ? `-${o.short}, ` : ''}--${o.name}${o.type === 'boolean' ? '' : o.type === 'number' ? ' N' : ' VALUE'}`);
  const width = Math.max(...labels.map((l) => l.length));
  return options.map((o, i) => {
    const dflt = o.default !== undefined && o.type !== 'boolean' ? ` (default ${String(o.default)})` : '';
    return `  ${labels[i]!.padEnd(width)}  ${o.description}${dflt}`;
  });
}

function argName(a: CommandArgument): string {
  return a.name.toUpperCase();
}

function argLabel(a: CommandArgument): string {
  return a.required ? argName(a) : `[${argName(a)}]`;
}
