import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const guidesDir = join(root, 'docs/guides');

interface Sample {
  guide: string;
  line: number;
  code: string;
}

/** ```js blocks of a markdown file; ```js no-run blocks are documentation only (they need files or network). */
export function extractSamples(guide: string, markdown: string): { run: Sample[]; skipped: number } {
  const run: Sample[] = [];
  let skipped = 0;
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```js(\s+no-run)?\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`${guide}:${i + 1}: unclosed code block`);
    if (open[1]) skipped++;
    else run.push({ guide, line: i + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return { run, skipped };
}

const guides = existsSync(guidesDir) ? readdirSync(guidesDir).filter((f) => f.endsWith('.md')).sort() : [];
const samples = guides.flatMap((g) => extractSamples(g, readFileSync(join(guidesDir, g), 'utf8')).run);

// A scratch project outside the repository whose node_modules/@nutshell/* link to the workspace
// packages, so samples import them by name exactly as a user would (built dist via `exports`).
let project = '';
beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'nutshell-docs-check-'));
  const scope = join(project, 'node_modules/@nutshell');
  mkdirSync(scope, { recursive: true });
  for (const group of ['packages']) {
    for (const dir of readdirSync(join(root, group))) {
      const manifest = join(root, group, dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const name = JSON.parse(readFileSync(manifest, 'utf8')).name as string;
      if (name.startsWith('@nutshell/')) symlinkSync(join(root, group, dir), join(scope, name.slice('@nutshell/'.length)), 'dir');
    }
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'docs-samples', private: true, type: 'module' }));
});
afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('extractSamples', () => {
  it('finds js blocks, skips no-run ones and other languages', () => {
    const md = ['# t', '```js', 'console.log(1)', '```', '```js no-run', 'x()', '```', '```sh', 'ls', '```', '```js', 'a', 'b', '```'].join('\n');
    const { run, skipped } = extractSamples('t.md', md);
    expect(run.map((s) => [s.line, s.code])).toEqual([
      [2, 'console.log(1)'],
      [11, 'a\nb'],
    ]);
    expect(skipped).toBe(1);
  });
});

describe('docs/guides', () => {
  it('has the guides and an index that links each of them', () => {
    expect(guides.length).toBeGreaterThanOrEqual(9);
    const index = readFileSync(join(root, 'docs/README.md'), 'utf8');
    for (const g of guides) expect(index).toContain(`guides/${g}`);
  });

  it.each(samples.map((s) => [`${s.guide}:${s.line}`, s] as const))('%s runs', (_id, sample) => {
    const file = join(project, `${sample.guide.replace(/\.md$/, '')}-${sample.line}.mjs`);
    writeFileSync(file, sample.code);
    const run = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, `exit ${run.status} ${run.signal ?? ''}\n${output.slice(-3000)}`).toBe(0);
    expect(run.stdout.trim().length, 'a sample should print something').toBeGreaterThan(0);
  });
});
