import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownLines, runCli, STACK_LINE } from './run-cli.js';

let project: string;

/** Writes node_modules/<name>/ with a package.json and files into the temp project. */
function installPackage(name: string, pkg: Record<string, unknown>, files: Record<string, string>) {
  const dir = join(project, 'node_modules', ...name.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.2.3', type: 'module', ...pkg }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

// A plugin object as definePlugin() makes it; written out so this package needs no @nutshell/core.
const fakePlugin = `
export default Object.freeze({
  kind: 'nutshell-plugin',
  name: '@nutshell/fake-plugin',
  version: '1.2.3',
  requires: {},
  register(ctx) {
    ctx.add('commands', 'fake-hello', {
      summary: 'greets someone',
      args: [{ name: 'who', description: 'whom to greet', required: true }],
      options: [
        { name: 'shout', type: 'boolean', description: 'greet loudly', default: false },
        { name: 'times', short: 't', type: 'number', description: 'how often', default: 1 },
      ],
      run({ args, options, json, kit, print }) {
        const text = (options.shout ? 'HELLO, ' + args[0].toUpperCase() : 'hello, ' + args[0]).repeat(options.times);
        print(text);
        return { text, json, seed: options.seed, backend: kit.backend ? kit.backend.name : null, plugins: [...kit.plugins.keys()] };
      },
    });
    ctx.add('commands', 'fake-fail', {
      summary: 'fails like a command given bad input',
      run() {
        const err = new Error('the fake input is bad');
        throw err;
      },
    });
    ctx.add('metrics', 'fake-metric', () => 0);
    ctx.add('formats', 'fake', {
      name: 'fake',
      extensions: ['.fake'],
      sniff: (head) => String.fromCharCode(...head.subarray(0, 4)) === 'FAKE',
      inspect(bytes, options) {
        if (bytes.length < 5) throw Object.assign(new Error('fake: too short'), { code: 'E_FORMAT' });
        const n = bytes[4];
        return { format: 'fake', metadata: null, tensors: { t: { dtype: 'U8', shape: [n], ...(options.values ? { values: [...bytes.subarray(5, 5 + n)] } : {}) } } };
      },
    });
  },
});
`;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'nutshell-plugins-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'some-project', private: true }));
  installPackage('@nutshell/fake-plugin', { nutshell: { plugin: './dist/plugin.js' } }, { 'dist/plugin.js': fakePlugin });
  installPackage('@nutshell/broken-on-import', { nutshell: { plugin: './dist/plugin.js' } }, {
    'dist/plugin.js': "throw new Error('kaboom while importing');\n",
  });
  installPackage('@nutshell/not-built', { nutshell: { plugin: './dist/plugin.js' } }, {});
  installPackage('@nutshell/zz-clashing', { nutshell: { plugin: './plugin.js' } }, {
    'plugin.js': `export default { kind: 'nutshell-plugin', name: '@nutshell/zz-clashing', version: '0.0.1', requires: {},
      register(ctx) { ctx.add('commands', 'fake-hello', { summary: 'dup', run() {} }); } };\n`,
  });
  installPackage('@nutshell/no-plugin-field', {}, { 'index.js': 'throw new Error("must never be imported");\n' });
  installPackage('unscoped-plugin', { nutshell: { plugin: './plugin.js' } }, { 'plugin.js': 'throw new Error("must never be imported");\n' });
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('plugin mounting', () => {
  it('a plugin installed in the project adds a command the CLI runs', async () => {
    const r = await runCli(['fake-hello', 'Ada', '--json', '--backend', 'cpu', '--seed', '5', '-t', '2'], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      text: 'hello, Adahello, Ada',
      json: true,
      seed: 5,
      backend: 'cpu',
      plugins: expect.arrayContaining(['@nutshell/cli', '@nutshell/fake-plugin']),
    });
    const human = await runCli(['fake-hello', 'Ada', '--shout', '--backend', 'cpu'], { cwd: project });
    expect(human.stdout).toBe('HELLO, ADA\n');
  });

  it('broken plugins are skipped with one warning line each, and the CLI still works', async () => {
    const r = await runCli(['fake-hello', 'Bob', '--backend', 'cpu'], { cwd: project });
    expect(r.code).toBe(0);
    const warnings = ownLines(r.stderr);
    expect(warnings).toHaveLength(3);
    expect(warnings.find((w) => w.includes('@nutshell/broken-on-import'))).toMatch(/warning: .*kaboom while importing/);
    expect(warnings.find((w) => w.includes('@nutshell/not-built'))).toMatch(/does not exist/);
    expect(warnings.find((w) => w.includes('@nutshell/zz-clashing'))).toMatch(/"fake-hello" is already registered/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stderr).not.toContain('must never be imported');
  });

  it('nutshell plugins lists plugins, versions, commands and the broken ones', async () => {
    const r = await runCli(['plugins', '--json'], { cwd: project });
    expect(r.code).toBe(0);
    const { plugins } = JSON.parse(r.stdout) as { plugins: { name: string; version: string; status: string; error: string | null; commands: string[]; provides: Record<string, string[]>; source: string }[] };
    const byName = Object.fromEntries(plugins.map((p) => [p.name, p]));
    expect(byName['@nutshell/cli']).toMatchObject({ status: 'ok', source: 'builtin', commands: ['backends', 'demo', 'help', 'inspect', 'plugins'] });
    expect(byName['@nutshell/fake-plugin']).toMatchObject({
      status: 'ok',
      version: '1.2.3',
      source: 'project',
      commands: ['fake-fail', 'fake-hello'],
      provides: { formats: ['fake'], metrics: ['fake-metric'] },
      error: null,
    });
    expect(byName['@nutshell/broken-on-import']).toMatchObject({ status: 'broken', commands: [] });
    expect(byName['@nutshell/broken-on-import']!.error).toContain('kaboom');
    expect(byName['@nutshell/not-built']!.status).toBe('broken');
    expect(byName['@nutshell/zz-clashing']!.status).toBe('broken');
    expect(Object.keys(byName)).not.toContain('@nutshell/no-plugin-field');
    expect(Object.keys(byName)).not.toContain('unscoped-plugin');
    const human = await runCli(['plugins'], { cwd: project });
    expect(human.stdout).toMatch(/^@nutshell\/fake-plugin@1\.2\.3 .*\n {2}commands: fake-fail, fake-hello$/m);
    expect(human.stdout).toMatch(/^ {2}BROKEN: .*kaboom/m);
  });

  it('plugin commands appear in --help and have their own usage', async () => {
    const help = await runCli(['--help'], { cwd: project });
    expect(help.stdout).toMatch(/^ {2}fake-hello\s+greets someone {2}\[@nutshell\/fake-plugin\]$/m);
    const usage = await runCli(['fake-hello', '--help'], { cwd: project });
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(/^Usage: nutshell fake-hello WHO \[options\]$/m);
    expect(usage.stdout).toMatch(/-t, --times N\s+how often \(default 1\)/);
    expect(usage.stdout).toContain('Provided by plugin @nutshell/fake-plugin.');
  });

  it("a plugin command's own errors and usage errors are one line", async () => {
    const fail = await runCli(['fake-fail', '--backend', 'cpu'], { cwd: project });
    expect(fail.code).toBe(1);
    expect(ownLines(fail.stderr).at(-1)).toBe('nutshell: the fake input is bad');
    expect(fail.stderr).not.toMatch(STACK_LINE);
    const usage = await runCli(['fake-hello', '--backend', 'cpu'], { cwd: project });
    expect(usage.code).toBe(2);
    expect(ownLines(usage.stderr).at(-1)).toMatch(/missing argument WHO/);
  });

  it('built-in commands keep quiet about broken plugins; an unknown command mentions them in its one line', async () => {
    const inspect = await runCli(['inspect', 'missing.safetensors'], { cwd: project });
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toBe('nutshell: missing.safetensors: no such file\n');
    const unknown = await runCli(['nope'], { cwd: project });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('3 broken plugins skipped: see "nutshell plugins"');
    const plugins = await runCli(['plugins'], { cwd: project });
    expect(ownLines(plugins.stderr).filter((l) => l.startsWith('nutshell: warning:'))).toHaveLength(3);
  });

  it('nutshell inspect reads the file formats plugins register', async () => {
    const magic = join(project, 'data.bin');
    writeFileSync(magic, Buffer.from([...Buffer.from('FAKE'), 3, 7, 8, 9]));
    const r = await runCli(['inspect', magic, '--json', '--values'], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ format: 'fake', metadata: null, tensors: { t: { dtype: 'U8', shape: [3], values: [7, 8, 9] } } });
    // By extension when the content is not recognized; the format's own error is one line.
    const short = join(project, 'short.fake');
    writeFileSync(short, 'FAK');
    const bad = await runCli(['inspect', short], { cwd: project });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`nutshell: ${short}: fake: too short\n`);
    // Files nobody claims are read as safetensors, whose error says what is wrong.
    const other = join(project, 'mystery.dat');
    writeFileSync(other, 'hello');
    const unknown = await runCli(['inspect', other], { cwd: project });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^nutshell: .*mystery\.dat: safetensors: /);
  });

  it('outside the project the plugin is not mounted', async () => {
    const r = await runCli(['fake-hello', 'x'], { cwd: tmpdir() });
    expect(r.code).toBe(2);
  });
});
