import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './run-cli.js';

const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string;

describe('nutshell CLI basics', () => {
  it('--help lists the built-in commands and the global options, exit 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const cmd of ['backends', 'inspect', 'demo', 'plugins', 'help']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\s`, 'm'));
    for (const opt of ['--json', '--seed', '--backend', '--out', '--help', '--version']) expect(r.stdout).toContain(opt);
  });

  it('help <cmd> and <cmd> --help print the same usage with arguments and options', async () => {
    const a = await runCli(['help', 'inspect']);
    const b = await runCli(['inspect', '--help']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^Usage: nutshell inspect FILE/m);
    expect(a.stdout).toContain('--values');
    const demo = await runCli(['demo', '-h']);
    expect(demo.stdout).toMatch(/--steps N\s+training steps per backend \(default 300\)/);
  });

  it('help --json describes a command as data', async () => {
    const r = await runCli(['help', 'demo', '--json']);
    expect(r.code).toBe(0);
    const usage = JSON.parse(r.stdout);
    expect(usage.command).toBe('demo');
    expect(usage.plugin).toBe('@nutshell/cli');
    expect(usage.options.map((o: { name: string }) => o.name)).toContain('steps');
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    expect(JSON.parse((await runCli(['--version', '--json'])).stdout)).toEqual({ name: '@nutshell/cli', version });
  });

  it('an unknown command is a usage error: one line, exit 2', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nutshell: unknown command "frobnicate"/);
  });

  it('a misspelled command gets a suggestion', async () => {
    const r = await runCli(['inspekt', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean inspect?');
  });

  it('an unknown option is a usage error: one line, exit 2', async () => {
    for (const argv of [['inspect', 'x.safetensors', '--valuez'], ['--nope', 'help'], ['demo', '-q']]) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^nutshell: unknown option/);
    }
  });

  it('a missing required argument or option value is a usage error', async () => {
    const missing = await runCli(['inspect']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^nutshell: inspect: missing argument FILE/);
    const noValue = await runCli(['demo', '--steps']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/--steps needs a value/);
  });

  it('a bad option value is bad input: one line, exit 1, no stack', async () => {
    for (const argv of [['demo', '--steps', 'many'], ['demo', '--steps', '-3'], ['backends', '--backend', 'tpu'], ['help', '--seed', 'x']]) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^nutshell: /);
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
  });

  it('NUTSHELL_DEBUG=1 adds the stack trace', async () => {
    const r = await runCli(['demo', '--steps', 'many'], { env: { NUTSHELL_DEBUG: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(STACK_LINE);
  });
});
