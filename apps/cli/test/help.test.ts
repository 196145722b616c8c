import type { CommandOption, CommandSpec, Kit } from '@nutshell/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeKit } from '../dist/compose.js';
import { createCliPlugin } from '../dist/cli-plugin.js';
import { discoverPlugins } from '../dist/discover.js';
import { GLOBAL_OPTIONS } from '../dist/global-options.js';
import { ownPackageJson } from '../dist/version.js';
import { runCli } from './run-cli.js';

/**
 * Help accuracy: what `nutshell --help` and each command's help print is checked against the
 * command specs themselves, which we compose here the same way the binary does (same cwd, so the
 * same plugins), and every option the help shows must get past the parser.
 */

/** The command names of the "Commands:" section of `nutshell --help`. */
function listedCommands(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf('Commands:');
  expect(start, 'a "Commands:" section').toBeGreaterThanOrEqual(0);
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}(\S+) {2,}\S/.exec(line);
    if (!m) break;
    names.push(m[1]!);
  }
  return names;
}

/** The lines of a section ("Options:", "Global options:") up to the next blank line. */
function section(help: string, title: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** How the help shows an option: "-x, --name N", "--flag", "--name VALUE". */
function optionLabel(o: CommandOption): string {
  const value = o.type === 'boolean' ? '' : o.type === 'number' ? ' N' : ' VALUE';
  return `${o.short ? `-${o.short}, ` : ''}--${o.name}${value}`;
}

/** A parseable value for an option on the command line (none for flags). */
function sampleArgv(o: CommandOption): string[] {
  if (o.type === 'boolean') return [`--${o.name}`];
  if (o.name === 'backend') return ['--backend', 'cpu'];
  return [`--${o.name}`, o.type === 'number' ? '1' : 'x'];
}

let kit: Kit;
let globalHelp: string;
let commands: string[];

beforeAll(async () => {
  const root = await runCli(['--help']);
  expect(root.code, root.stderr).toBe(0);
  globalHelp = root.stdout;
  commands = listedCommands(globalHelp);
  const discovery = await discoverPlugins(process.cwd());
  const plugins = discovery.plugins.filter((p) => p.plugin).map((p) => p.plugin!);
  const composed = await composeKit(createCliPlugin({ version: ownPackageJson().version, discovery, rejected: [] }), plugins);
  kit = composed.kit;
}, 60_000);

describe('nutshell --help', () => {
  it('lists every composed command once, with its summary, and nothing else', () => {
    expect(commands.length).toBeGreaterThan(5);
    expect(new Set(commands).size).toBe(commands.length);
    expect([...commands].sort()).toEqual([...kit.list('commands')].sort());
    for (const name of commands) {
      const line = globalHelp.split('\n').find((l) => l.startsWith(`  ${name} `))!;
      expect(line, name).toContain(kit.get('commands', name).summary);
    }
    // The commands the CLI itself always has.
    expect(commands).toEqual(expect.arrayContaining(['backends', 'demo', 'help', 'inspect', 'plugins']));
  });

  it('shows every global option (--backend, --seed, --json, --out, --help, --version)', () => {
    const lines = section(globalHelp, 'Global options:');
    expect(GLOBAL_OPTIONS.map((o) => o.name)).toEqual(expect.arrayContaining(['backend', 'seed', 'json', 'out', 'help', 'version']));
    for (const o of GLOBAL_OPTIONS) {
      expect(lines.some((l) => l.startsWith(`  ${optionLabel(o)} `) && l.includes(o.description)), o.name).toBe(true);
    }
    expect(lines).toHaveLength(GLOBAL_OPTIONS.length);
    expect(globalHelp).toMatch(/^Usage: nutshell <command>/m);
  });

  it('is what plain `nutshell` and `nutshell help` print too', async () => {
    const [bare, help] = await Promise.all([runCli([]), runCli(['help'])]);
    expect(bare.code).toBe(0);
    expect(help.code).toBe(0);
    expect(bare.stdout).toBe(globalHelp);
    expect(help.stdout).toBe(globalHelp);
  });

  it('an unknown option is a usage error (exit 2), so the acceptance checks below can fail', async () => {
    const r = await runCli(['backends', '--no-such-option', '--help']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option --no-such-option/);
  });
});

/** `help <cmd>` output per command, filled by the first test below and reused by the next. */
const helpText = new Map<string, string>();

/** Runs `check` over the commands a few at a time (each is a node process that loads every plugin). */
async function eachCommand(check: (name: string) => Promise<void>): Promise<void> {
  const queue = [...commands];
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await check(name);
  }));
}

describe('each command\'s help', () => {
  // The command list is known only after `nutshell --help` ran, so each test walks it.
  it('`<cmd> --help` and `help <cmd>` exit 0 and print the same, accurate text', async () => {
    const failures: string[] = [];
    await eachCommand(async (name) => {
      const spec: CommandSpec = kit.get('commands', name);
      const [dashed, viaHelp] = await Promise.all([runCli([name, '--help']), runCli(['help', name])]);
      for (const [how, r] of [[`${name} --help`, dashed], [`help ${name}`, viaHelp]] as const) {
        if (r.code !== 0) failures.push(`${how}: exit ${r.code}: ${r.stderr.trim()}`);
      }
      // `help --help` shows the overview (help with no command); either is fine for help itself.
      const same = dashed.stdout === viaHelp.stdout || (name === 'help' && dashed.stdout === globalHelp);
      if (!same) failures.push(`${name}: "${name} --help" and "help ${name}" differ`);
      const text = viaHelp.stdout;
      helpText.set(name, text);
      const usage = text.split('\n')[0] ?? '';
      if (!usage.startsWith(`Usage: nutshell ${name}`)) failures.push(`${name}: first line is ${JSON.stringify(usage)}`);
      for (const a of spec.args ?? []) {
        if (!usage.includes(a.name.toUpperCase())) failures.push(`${name}: usage line lacks argument ${a.name.toUpperCase()}`);
      }
      if ((spec.options ?? []).length && !usage.includes('[options]')) failures.push(`${name}: usage line lacks [options]`);
      if (!text.includes(spec.summary)) failures.push(`${name}: summary missing`);
      const own = section(text, 'Options:');
      for (const o of spec.options ?? []) {
        if (!own.some((l) => l.startsWith(`  ${optionLabel(o)} `) && l.includes(o.description))) {
          failures.push(`${name}: option ${optionLabel(o)} missing from Options`);
        }
      }
      if (own.length !== (spec.options ?? []).length) failures.push(`${name}: Options lists ${own.length} lines for ${(spec.options ?? []).length} options`);
      const globals = section(text, 'Global options:');
      for (const o of GLOBAL_OPTIONS) {
        // a command's own option of the same name (quantize --out) is listed once, under Options
        const shadowed = (spec.options ?? []).some((c) => c.name === o.name);
        const listed = globals.some((l) => l.startsWith(`  ${optionLabel(o)} `));
        if (!shadowed && !listed) failures.push(`${name}: global option --${o.name} missing`);
        if (shadowed && listed) failures.push(`${name}: --${o.name} is listed both as its own option and as a global one`);
      }
    });
    expect(failures).toEqual([]);
    expect(helpText.size).toBe(commands.length);
  });

  it('-h is --help, for the CLI\'s own commands and a plugin\'s', async () => {
    const plugin = commands.find((c) => kit.registries.commands.ownerOf(c) !== '@nutshell/cli')!;
    for (const name of ['inspect', plugin]) {
      const [short, long] = await Promise.all([runCli([name, '-h']), runCli([name, '--help'])]);
      expect(short.code, short.stderr).toBe(0);
      expect(short.stdout).toBe(long.stdout);
      expect(short.stdout).toMatch(new RegExp(`^Usage: nutshell ${name}\\b`));
    }
  });

  it('every option a command\'s help shows is accepted by the parser, and --json help matches the spec', async () => {
    const failures: string[] = [];
    await eachCommand(async (name) => {
      const text = helpText.get(name) ?? (await runCli(['help', name])).stdout;
      const shown = [...section(text, 'Options:'), ...section(text, 'Global options:')]
        .map((l) => /^ {2}(?:-(\w), )?--([\w-]+)( N| VALUE)?\s/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null);
      if (shown.length < GLOBAL_OPTIONS.length) failures.push(`${name}: only ${shown.length} options parsed from its help`);
      const spec: CommandSpec = kit.get('commands', name);
      const known = new Map([...GLOBAL_OPTIONS, ...(spec.options ?? [])].map((o) => [o.name, o]));
      // Every option at once, long and short forms; --json makes the help machine-readable.
      const argv: string[] = [name];
      for (const [, short, long, value] of shown) {
        const o = known.get(long!);
        if (!o) {
          failures.push(`${name}: help shows --${long} but the spec has no such option`);
          continue;
        }
        if ((value === undefined) !== (o.type === 'boolean')) failures.push(`${name}: --${long} shown ${value ? 'with' : 'without'} a value`);
        if (o.name === 'help') continue;
        const sample = sampleArgv(o);
        argv.push(...sample);
        if (short && short !== 'h') argv.push(`-${short}`, ...sample.slice(1));
      }
      const r = await runCli([...argv, '--help']);
      if (r.code !== 0) {
        failures.push(`${argv.join(' ')} --help: exit ${r.code}: ${r.stderr.trim()}`);
        return;
      }
      if (name === 'help') return; // `help --help` is the overview, checked above
      const usage = JSON.parse(r.stdout) as { command: string; options: { name: string }[]; globalOptions: { name: string }[] };
      if (usage.command !== name) failures.push(`${name}: --json help is for ${usage.command}`);
      const want = (spec.options ?? []).map((o) => o.name);
      if (JSON.stringify(usage.options.map((o) => o.name)) !== JSON.stringify(want)) failures.push(`${name}: --json help options differ from the spec`);
      if (JSON.stringify(usage.globalOptions.map((o) => o.name)) !== JSON.stringify(GLOBAL_OPTIONS.map((o) => o.name))) failures.push(`${name}: --json help global options differ`);
    });
    expect(failures).toEqual([]);
  });
});
