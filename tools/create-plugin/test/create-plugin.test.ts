import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GENERATOR = join(ROOT, 'tools/create-plugin/create-plugin.mjs');
const CLI = join(ROOT, 'apps/cli/dist/bin.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` with an environment like a user's shell (no vitest or pnpm variables). */
function node(script: string, args: string[], cwd = ROOT): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) if (/^(VITEST|NODE_PATH$|TEST$|NODE_ENV$)/.test(key)) delete env[key];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const link = (target: string, path: string) => {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path, 'dir');
};

let tmp: string;
let pkg: string;

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'nutshell-create-plugin-')));
  pkg = join(tmp, 'demo-thing');
  const made = await node(GENERATOR, ['demo-thing', '--dir', tmp, '--description', 'Says "hello" (and it\'s a test).']);
  expect(made.code, made.stderr).toBe(0);
  // Stand-in for `pnpm install` in a project: @nutshell/core from this workspace, the new package
  // linked by name (as the CLI and the package's own test find it), and the tools the build needs.
  link(join(ROOT, 'packages/core'), join(tmp, 'node_modules/@nutshell/core'));
  link(pkg, join(tmp, 'node_modules/@nutshell/demo-thing'));
  link(realpathSync(join(ROOT, 'node_modules/@types/node')), join(tmp, 'node_modules/@types/node'));
  link(realpathSync(join(ROOT, 'node_modules/vitest')), join(tmp, 'node_modules/vitest'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('pnpm create-plugin', () => {
  it('writes a package that follows the workspace conventions and the CLI plugin contract', () => {
    for (const f of ['package.json', 'tsconfig.json', 'README.md', 'src/index.ts', 'src/plugin.ts', 'src/metric.ts', 'test/plugin.test.ts']) {
      expect(existsSync(join(pkg, f)), f).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    expect(json).toMatchObject({
      name: '@nutshell/demo-thing',
      type: 'module',
      sideEffects: false,
      files: ['dist', 'README.md'],
      scripts: { build: 'tsc -b' },
      nutshell: { plugin: './dist/plugin.js' },
      dependencies: { '@nutshell/core': 'workspace:^' },
      description: 'Says "hello" (and it\'s a test).',
    });
    expect(json.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    const tsconfig = JSON.parse(readFileSync(join(pkg, 'tsconfig.json'), 'utf8'));
    expect(resolve(pkg, tsconfig.extends)).toBe(join(ROOT, 'tsconfig.base.json'));
    expect(resolve(pkg, tsconfig.references[0].path)).toBe(join(ROOT, 'packages/core'));
    expect(tsconfig.compilerOptions).toEqual({ rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' });
    const plugin = readFileSync(join(pkg, 'src/plugin.ts'), 'utf8');
    expect(plugin).toContain("ctx.add('commands', 'demo-thing-hello'");
    expect(plugin).not.toMatch(/\{\{\w+\}\}/);
  });

  it('by default it writes <workspace>/packages/<name> with the usual relative paths', async () => {
    // A copy of the generator in a scratch workspace, so the real packages/ stays untouched.
    const ws = join(tmp, 'scratch-workspace');
    cpSync(join(ROOT, 'tools/create-plugin'), join(ws, 'tools/create-plugin'), {
      recursive: true,
      filter: (src) => !src.startsWith(join(ROOT, 'tools/create-plugin/test')),
    });
    mkdirSync(join(ws, 'packages'));
    writeFileSync(join(ws, 'tsconfig.base.json'), '{}');
    const r = await node(join(ws, 'tools/create-plugin/create-plugin.mjs'), ['fresh'], ws);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('created @nutshell/fresh in packages/fresh/');
    const tsconfig = JSON.parse(readFileSync(join(ws, 'packages/fresh/tsconfig.json'), 'utf8'));
    expect(tsconfig.extends).toBe('../../tsconfig.base.json');
    expect(tsconfig.references).toEqual([{ path: '../core' }]);
    expect(readFileSync(join(ws, 'packages/fresh/README.md'), 'utf8')).toContain('pnpm exec vitest run packages/fresh');
    expect(existsSync(join(ws, 'packages/fresh/test/plugin.test.ts'))).toBe(true);
  });

  it('refuses to overwrite an existing directory', async () => {
    const readme = join(pkg, 'README.md');
    const before = readFileSync(readme, 'utf8');
    const again = await node(GENERATOR, ['demo-thing', '--dir', tmp]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^create-plugin: .*demo-thing already exists.*refusing to overwrite/);
    expect(again.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(readFileSync(readme, 'utf8')).toBe(before);
  });

  it('rejects names that are not lowercase npm names', async () => {
    for (const bad of ['Bad', 'has space', '-dash', '.dot', '_under', '@other/thing', 'a/b', 'ünï', 'core']) {
      const r = await node(GENERATOR, [bad, '--dir', tmp]);
      expect(r.code, bad).not.toBe(0);
      expect(r.stderr, bad).toMatch(/^create-plugin: /);
      expect(existsSync(join(tmp, bad)), bad).toBe(false);
    }
    const missing = await node(GENERATOR, ['--dir', tmp]);
    expect(missing.code).toBe(2);
    const unknown = await node(GENERATOR, ['x', '--force']);
    expect(unknown.code).toBe(2);
    // The scope may be spelled out.
    const scoped = await node(GENERATOR, ['@nutshell/scoped-one', '--dir', tmp]);
    expect(scoped.code, scoped.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, 'scoped-one/package.json'), 'utf8')).name).toBe('@nutshell/scoped-one');
  });

  it('the generated package builds with tsc -p and its own test passes', async () => {
    const build = await node(TSC, ['-p', pkg]);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    expect(existsSync(join(pkg, 'dist/plugin.js'))).toBe(true);
    expect(existsSync(join(pkg, 'dist/plugin.d.ts'))).toBe(true);
    const test = await node(VITEST, ['run', '--root', pkg], pkg);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/Tests\s+.*3 passed/);
  });

  it('the nutshell CLI, run in that project, mounts the plugin and runs its command', async () => {
    expect(existsSync(join(pkg, 'dist/plugin.js')), 'built by the previous test').toBe(true);
    const list = await node(CLI, ['plugins', '--json'], tmp);
    expect(list.code, list.stderr).toBe(0);
    const row = JSON.parse(list.stdout).plugins.find((p: { name: string }) => p.name === '@nutshell/demo-thing');
    expect(row).toMatchObject({ status: 'ok', version: '0.1.0', source: 'project', commands: ['demo-thing-hello'], provides: { metrics: ['demo-thing-mae'] } });
    const help = await node(CLI, ['--help'], tmp);
    expect(help.stdout).toMatch(/demo-thing-hello\s+say hello from @nutshell\/demo-thing/);
    const run = await node(CLI, ['demo-thing-hello', 'Ada', '--shout', '--json', '--backend', 'cpu'], tmp);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ greeting: 'HELLO, ADA, FROM @NUTSHELL/DEMO-THING', backend: 'cpu', mae: 1 });
  });
});
