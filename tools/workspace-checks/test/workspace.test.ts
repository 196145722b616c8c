import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');

interface Pkg {
  dir: string;
  json: Record<string, any>;
}

const packages: Pkg[] = ['packages', 'apps', 'tools']
  .flatMap((group) => (existsSync(join(root, group)) ? readdirSync(join(root, group)).map((d) => join(root, group, d)) : []))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }));

const published = packages.filter((p) => !p.json.private);
const TFJS_ALLOWED = /^@nutshell\/(core|backend-[\w-]+)$/;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Bare package names a file imports (static, dynamic with a literal, re-exports). */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = new Set<string>();
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...names];
}

describe('workspace rules', () => {
  it('finds the packages', () => {
    expect(packages.map((p) => p.json.name)).toContain('@nutshell/core');
  });

  it('only core and backends import @tensorflow/*', () => {
    const offenders: string[] = [];
    for (const pkg of packages) {
      if (TFJS_ALLOWED.test(pkg.json.name)) continue;
      for (const file of [...sourceFiles(join(pkg.dir, 'src')), ...sourceFiles(join(pkg.dir, 'test'))]) {
        if (importedPackages(file).some((n) => n.startsWith('@tensorflow/'))) offenders.push(relative(root, file));
      }
    }
    expect(offenders).toEqual([]);
  });

  it('dependencies form a DAG with core at the bottom and backends only on core', () => {
    const deps = (p: Pkg) => Object.keys({ ...p.json.dependencies, ...p.json.peerDependencies }).filter((d) => d.startsWith('@nutshell/'));
    const core = packages.find((p) => p.json.name === '@nutshell/core')!;
    expect(deps(core)).toEqual([]);
    for (const backend of packages.filter((p) => /^@nutshell\/backend-/.test(p.json.name))) {
      expect({ name: backend.json.name, deps: deps(backend) }).toEqual({ name: backend.json.name, deps: ['@nutshell/core'] });
    }
    const byName = new Map(packages.map((p) => [p.json.name as string, p]));
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (done.has(name)) return;
      if (visiting.has(name)) throw new Error(`dependency cycle: ${[...path, name].join(' → ')}`);
      visiting.add(name);
      const pkg = byName.get(name);
      if (pkg) for (const d of deps(pkg)) visit(d, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const p of packages) visit(p.json.name, []);
  });

  it('each package imports only what it declares, and declares only what it uses', () => {
    const problems: string[] = [];
    for (const pkg of packages) {
      const declared = new Set(Object.keys({ ...pkg.json.dependencies, ...pkg.json.peerDependencies, ...pkg.json.optionalDependencies }));
      const declaredAll = new Set([...declared, ...Object.keys(pkg.json.devDependencies ?? {})]);
      const used = new Set<string>();
      for (const file of sourceFiles(join(pkg.dir, 'src'))) {
        for (const name of importedPackages(file)) {
          used.add(name);
          if (name !== pkg.json.name && !declared.has(name)) problems.push(`${pkg.json.name}: ${relative(root, file)} imports ${name}, not in dependencies`);
        }
      }
      for (const file of sourceFiles(join(pkg.dir, 'test'))) {
        for (const name of importedPackages(file)) {
          // tests may also use the workspace root's dev tools (vitest, fast-check)
          if (name !== pkg.json.name && !declaredAll.has(name) && !['vitest', 'fast-check'].includes(name)) {
            problems.push(`${pkg.json.name}: ${relative(root, file)} imports ${name}, not in (dev)dependencies`);
          }
        }
      }
      if (pkg.json.private) continue;
      // build and install scripts count as users too (e.g. C headers for a native addon)
      for (const file of sourceFiles(join(pkg.dir, 'scripts'))) importedPackages(file).forEach((n) => used.add(n));
      const scriptText = readdirSync(pkg.dir).includes('scripts') ? sourceFiles(join(pkg.dir, 'scripts')).map((f) => readFileSync(f, 'utf8')).join('\n') : '';
      // the CLI mounts plugin packages it depends on without importing them by name
      const mounted = (name: string) => !!pkg.json.bin && !!packages.find((p) => p.json.name === name)?.json.nutshell?.plugin;
      for (const name of Object.keys(pkg.json.dependencies ?? {})) {
        if (!used.has(name) && !scriptText.includes(name) && !mounted(name)) problems.push(`${pkg.json.name}: depends on ${name} but neither src nor scripts use it`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(published.map((p) => [p.json.name, p] as const))('%s is a well-formed ESM package with a README example', (_name, pkg) => {
    const j = pkg.json;
    expect(j.type).toBe('module');
    expect(j.exports?.['.']?.types ?? j.exports?.['.']?.import?.types).toMatch(/\.d\.ts$/);
    expect(j.sideEffects).toBeDefined();
    expect(j.files).toContain('dist');
    expect(j.scripts?.build).toBeTruthy();
    const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
    expect(readme).toMatch(/```(ts|js|sh)/);
  });
});
