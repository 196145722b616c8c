import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'nutshell-pack-'));
const tarballs = join(work, 'tarballs');

interface Pkg { dir: string; name: string; deps: string[] }
const published: Pkg[] = ['packages', 'apps']
  .flatMap((g) => readdirSync(join(root, g)).map((d) => join(root, g, d)))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter((p) => !p.json.private)
  .map((p) => ({ dir: p.dir, name: p.json.name, deps: Object.keys(p.json.dependencies ?? {}).filter((d) => d.startsWith('@nutshell/')) }));
const byName = new Map(published.map((p) => [p.name, p]));

function pnpm(): [string, string[]] {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? ['pnpm', []] : ['npx', ['-y', 'pnpm@12.4.2']];
}

/** The package and the @nutshell packages it needs, transitively. */
function closure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const d of byName.get(name)?.deps ?? []) closure(d, seen);
  return seen;
}

function exampleOf(dir: string): string {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const m = /```js\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error(`${dir}/README.md has no \`\`\`js example`);
  return m[1]!;
}

const tarballOf = new Map<string, string>();

beforeAll(() => {
  mkdirSync(tarballs, { recursive: true });
  const [cmd, prefix] = pnpm();
  for (const p of published) {
    const before = new Set(readdirSync(tarballs));
    execFileSync(cmd, [...prefix, 'pack', '--pack-destination', tarballs], { cwd: p.dir, stdio: 'pipe' });
    const made = readdirSync(tarballs).find((f) => !before.has(f));
    if (!made) throw new Error(`pnpm pack made no tarball for ${p.name}`);
    tarballOf.set(p.name, join(tarballs, made));
  }
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('each package works alone from its tarball', () => {
  it.each(published.map((p) => [p.name, p] as const))('%s: README example runs in a fresh project', (name, pkg) => {
    const project = join(work, name.replace('/', '__'));
    mkdirSync(project, { recursive: true });
    // npm 11 runs dependencies' install scripts only when the project approves them.
    const allowScripts = { '@nutshell/backend-native': true };
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts }));
    const files = [...closure(name)].map((n) => tarballOf.get(n)!);
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...files], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
    writeFileSync(join(project, 'example.mjs'), exampleOf(pkg.dir));
    const run = spawnSync(process.execPath, ['example.mjs'], { cwd: project, encoding: 'utf8', timeout: 180_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  }, 400_000);
});
