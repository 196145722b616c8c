import { format } from 'node:util';
import { InvalidArgumentError, setSeed } from '@nutshell/core';
import type { CommandOption, CommandSpec, Kit } from '@nutshell/core';
import { parseArgs, suggest } from './args.js';
import type { OptionValues } from './args.js';
import { activateBackend, oneLine } from './backends.js';
import { createCliPlugin } from './cli-plugin.js';
import { composeKit } from './compose.js';
import { discoverPlugins } from './discover.js';
import { BACKEND_CHOICES, GLOBAL_OPTIONS } from './global-options.js';
import type { ProgressStream } from './progress.js';
import type { CliCommandSpec, CliState } from './state.js';
import { UsageError } from './usage-error.js';
import { ownPackageJson } from './version.js';

export interface CliIO {
  stdout: { write(chunk: string): unknown };
  stderr: ProgressStream;
  cwd: string;
  env: Record<string, string | undefined>;
}

/**
 * Runs `nutshell <command> [args] [--options]` and resolves to the exit status: 0 on success,
 * 1 for bad input or a failed command, 2 for a usage error. Errors are one line on stderr
 * (`nutshell: <message>`), with the stack only when NUTSHELL_DEBUG=1.
 */
export async function runCli(argv: readonly string[], io: Partial<CliIO> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const json = argv.includes('--json') || argv.includes('--json=true');
  const restoreConsole = json ? routeConsoleTo(stderr) : () => {};
  try {
    return await dispatch(argv, { stdout, stderr, cwd: io.cwd ?? process.cwd(), env });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    stderr.write(`nutshell: ${oneLine(message) || (err as Error)?.name || 'unknown error'}\n`);
    if (env.NUTSHELL_DEBUG === '1' && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    restoreConsole();
  }
}

async function dispatch(argv: readonly string[], io: CliIO): Promise<number> {
  const version = ownPackageJson().version;
  const at = commandIndex(argv);
  const leading = parseArgs(argv.slice(0, at), GLOBAL_OPTIONS);
  let name = argv[at];
  let rest = argv.slice(at + 1);
  if (name === undefined && leading.options.version) {
    io.stdout.write(leading.options.json ? `${JSON.stringify({ name: '@nutshell/cli', version })}\n` : `${version}\n`);
    return 0;
  }

  const discovery = await discoverPlugins(io.cwd);
  const state: CliState = { version, discovery, rejected: [] };
  const loaded = discovery.plugins.filter((p) => p.plugin).map((p) => p.plugin!);
  const { kit, rejected } = await composeKit(createCliPlugin(state), loaded);
  state.rejected = rejected;
  const broken = [
    ...discovery.plugins.filter((p) => p.error).map((p) => `plugin ${p.packageName} (${p.dir}) is broken and was skipped: ${oneLine(p.error!)}`),
    ...rejected.map((r) => `plugin ${r.plugin.name} was skipped: ${oneLine(r.error)}`),
  ];

  // `nutshell`, `nutshell --help` → global help; `nutshell <cmd> --help` → `nutshell help <cmd>`.
  if (name === undefined) {
    name = 'help';
    rest = [...rest];
  }
  if (!kit.registries.commands.has(name)) {
    const hint = broken.length ? ` (${broken.length} broken plugin${broken.length > 1 ? 's' : ''} skipped: see "nutshell plugins")` : '';
    throw new UsageError(`unknown command "${name}"${suggest(name, kit.list('commands'), '')}; run "nutshell --help" for the list of commands${hint}`);
  }
  // Broken plugins are reported where they matter: help, plugins, and plugin commands. The built-in
  // commands keep their stderr to the one line their errors promise.
  if (name === 'help' || name === 'plugins' || kit.registries.commands.ownerOf(name) !== '@nutshell/cli') {
    for (const line of broken) io.stderr.write(`nutshell: warning: ${line}\n`);
  }
  let spec = kit.get('commands', name) as CliCommandSpec;
  const parsed = parseArgs(rest, mergeOptions(GLOBAL_OPTIONS, spec.options ?? []));
  const given: OptionValues = { ...leading.options, ...parsed.options };
  let args = parsed.args;
  if (given.help && name !== 'help') {
    args = [name];
    name = 'help';
    spec = kit.get('commands', 'help') as CliCommandSpec;
  } else if (given.version) {
    io.stdout.write(given.json ? `${JSON.stringify({ name: '@nutshell/cli', version })}\n` : `${version}\n`);
    return 0;
  }

  const options = withDefaults(given, mergeOptions(GLOBAL_OPTIONS, spec.options ?? []));
  checkArgCount(name, spec, args);
  const backend = String(options.backend);
  if (!(BACKEND_CHOICES as readonly string[]).includes(backend)) {
    throw new InvalidArgumentError(`option --backend: expected one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  if (given.seed !== undefined) setSeed(options.seed as number);

  let runKit: Kit = kit;
  if (spec.needsBackend !== false) runKit = { ...kit, backend: await activateBackend(backend) };
  const json = options.json === true;
  let printed = false;
  const result = await spec.run({
    args,
    options,
    json,
    kit: runKit,
    print: (line: string) => {
      printed = true;
      if (!json) io.stdout.write(`${line}\n`);
    },
  });
  if (json) io.stdout.write(`${JSON.stringify(result ?? null, jsonReplacer)}\n`);
  else if (!printed && result !== undefined) {
    io.stdout.write(`${typeof result === 'string' ? result : JSON.stringify(result, jsonReplacer, 2)}\n`);
  }
  return 0;
}

/** Index of the command name: the first token that is not a global option (or its value). */
function commandIndex(argv: readonly string[]): number {
  const takesValue = new Set(GLOBAL_OPTIONS.filter((o) => o.type !== 'boolean').map((o) => `--${o.name}`));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return i + 1;
    if (!token.startsWith('-')) return i;
    if (takesValue.has(token)) i++;
  }
  return argv.length;
}

function mergeOptions(globals: readonly CommandOption[], own: readonly CommandOption[]): CommandOption[] {
  const names = new Set(own.map((o) => o.name));
  const shorts = new Set(own.map((o) => o.short).filter(Boolean));
  return [...globals.filter((g) => !names.has(g.name)).map((g) => (g.short && shorts.has(g.short) ? { ...g, short: undefined } : g)), ...own];
}

function withDefaults(given: OptionValues, known: readonly CommandOption[]): OptionValues {
  const options: OptionValues = { json: false, seed: 0, backend: 'auto', out: undefined };
  for (const o of known) if (o.default !== undefined) options[o.name] = o.default;
  for (const [k, v] of Object.entries(given)) if (v !== undefined) options[k] = v;
  return options;
}

function checkArgCount(name: string, spec: CommandSpec, args: string[]): void {
  if (!spec.args) return;
  const required = spec.args.filter((a) => a.required);
  const variadic = spec.args.some((a) => a.name.endsWith('...'));
  if (args.length < required.length) {
    const missing = required.slice(args.length).map((a) => a.name.toUpperCase());
    throw new UsageError(`${name}: missing argument ${missing.join(' ')}; run "nutshell help ${name}"`);
  }
  if (!variadic && args.length > spec.args.length) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(args[spec.args.length])}; run "nutshell help ${name}"`);
  }
}

/** JSON.stringify replacer: bigints become numbers (or strings when not exactly representable). */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** With --json, stdout carries only the result: anything logged through console goes to stderr. */
function routeConsoleTo(stream: { write(chunk: string): unknown }): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toStream = (...parts: unknown[]) => void stream.write(`${format(...parts)}\n`);
  console.log = console.info = console.debug = toStream;
  return () => Object.assign(console, saved);
}

