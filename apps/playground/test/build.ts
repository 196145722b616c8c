import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Vite builds for the app tests (no browser needed): build into a temp dir, list what came out. */

/** Builds an app with its own Vite into a fresh temp folder; returns the folder. */
export function viteBuild(appDir: string, extraArgs: string[] = []): string {
  const out = mkdtempSync(join(tmpdir(), 'nutshell-vite-'));
  const vite = join(appDir, 'node_modules/.bin/vite');
  const r = spawnSync(vite, ['build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error', ...extraArgs], { cwd: appDir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vite build of ${appDir} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return out;
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export interface BuiltFile {
  path: string;
  bytes: number;
}

/** Every file of a build, by relative path. */
export function listFiles(dir: string): BuiltFile[] {
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  return walk(dir).map((f) => ({ path: relative(dir, f), bytes: statSync(f).size })).sort((a, b) => a.path.localeCompare(b.path));
}

/** All JavaScript of a build as one string (to search for markers of code that should be absent). */
export function allJs(dir: string): string {
  return listFiles(dir).filter((f) => f.path.endsWith('.js')).map((f) => readFileSync(join(dir, f.path), 'utf8')).join('\n');
}
