import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NutshellPlugin } from '@nutshell/core';
import { ownPackageJson, OWN_PACKAGE_URL } from './version.js';

/**
 * The plugin contract: an installed package named `@nutshell/*` whose package.json has
 *   "nutshell": { "plugin": "./dist/plugin.js" }
 * is a CLI plugin; that module's default export is a NutshellPlugin (made by definePlugin).
 */
export interface FoundPlugin {
  /** npm package name. */
  packageName: string;
  packageVersion: string | undefined;
  /** Real path of the package directory. */
  dir: string;
  /** Where it was found: the current project or the CLI's own dependencies. */
  source: 'project' | 'cli';
  /** The loaded plugin, when loading worked. */
  plugin?: NutshellPlugin;
  /** Why it could not be used. */
  error?: string;
}

export interface DiscoveryReport {
  plugins: FoundPlugin[];
  /** Packages skipped because a nearer copy with the same name was found first. */
  shadowed: { packageName: string; dir: string; by: string }[];
}

const SCOPE = '@nutshell';
const SELF = '@nutshell/cli';

/** Finds and imports plugins from `cwd`'s node_modules (nearest first) and the CLI's dependencies. */
export async function discoverPlugins(cwd: string = process.cwd()): Promise<DiscoveryReport> {
  const candidates: { dir: string; source: FoundPlugin['source'] }[] = [];
  for (const dir of projectScopeDirs(cwd)) {
    for (const entry of safeReaddir(dir)) candidates.push({ dir: join(dir, entry), source: 'project' });
  }
  const cliRoot = fileURLToPath(OWN_PACKAGE_URL);
  for (const dep of Object.keys(ownPackageJson().dependencies ?? {})) {
    if (!dep.startsWith(`${SCOPE}/`)) continue;
    const dir = findPackageDir(cliRoot, dep);
    if (dir) candidates.push({ dir, source: 'cli' });
  }

  const report: DiscoveryReport = { plugins: [], shadowed: [] };
  const seenDirs = new Set<string>();
  const seenNames = new Map<string, string>();
  for (const candidate of candidates) {
    const real = safeRealpath(candidate.dir);
    if (!real || seenDirs.has(real)) continue;
    seenDirs.add(real);
    const pkg = readPackageJson(real);
    if (!pkg || typeof pkg.name !== 'string' || pkg.name === SELF) continue;
    const field = (pkg.nutshell as { plugin?: unknown } | undefined)?.plugin;
    if (field === undefined) continue;
    const first = seenNames.get(pkg.name);
    if (first) {
      report.shadowed.push({ packageName: pkg.name, dir: real, by: first });
      continue;
    }
    seenNames.set(pkg.name, real);
    const found: FoundPlugin = {
      packageName: pkg.name,
      packageVersion: typeof pkg.version === 'string' ? pkg.version : undefined,
      dir: real,
      source: candidate.source,
    };
    try {
      found.plugin = await loadPlugin(real, field);
    } catch (err) {
      found.error = (err as Error)?.message ?? String(err);
    }
    report.plugins.push(found);
  }
  return report;
}

async function loadPlugin(dir: string, field: unknown): Promise<NutshellPlugin> {
  if (typeof field !== 'string' || !field.startsWith('./')) {
    throw new Error(`package.json "nutshell.plugin" must be a relative path like "./dist/plugin.js", got ${JSON.stringify(field)}`);
  }
  const file = resolve(dir, field);
  const rel = relative(dir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`"nutshell.plugin" points outside the package: ${field}`);
  if (!existsSync(file)) throw new Error(`plugin module ${field} does not exist (is the package built?)`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const plugin = mod.default as Partial<NutshellPlugin> | undefined;
  if (!plugin || typeof plugin !== 'object' || plugin.kind !== 'nutshell-plugin' || typeof plugin.register !== 'function') {
    throw new Error(`${field} must default-export a plugin made by definePlugin() from @nutshell/core`);
  }
  return plugin as NutshellPlugin;
}

/** `<dir>/node_modules/@nutshell` for cwd and each of its ancestors, nearest first. */
function projectScopeDirs(cwd: string): string[] {
  const out: string[] = [];
  let dir = resolve(cwd);
  for (;;) {
    const scope = join(dir, 'node_modules', SCOPE);
    if (isDirectory(scope)) out.push(scope);
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/** Node-style lookup of `<ancestor>/node_modules/<name>` from `from`. */
function findPackageDir(from: string, name: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readPackageJson(dir: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((e) => !e.startsWith('.')).sort();
  } catch {
    return [];
  }
}

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
