import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// Every plugin package the CLI ships with must mount next to the others: no name clashes.
describe('plugins shipped with the CLI', () => {
  it('all load together without errors', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const run = await runCli(['plugins', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { plugins: { name: string; status: string }[] };
    const statuses = Object.fromEntries(report.plugins.map((p) => [p.name, p.status]));
    const shipped = Object.keys(pkg.dependencies).filter((d) => !d.startsWith('@nutshell/backend-') && d !== '@nutshell/core');
    expect(shipped.length).toBeGreaterThan(3);
    for (const name of shipped) expect({ name, status: statuses[name] }).toEqual({ name, status: 'ok' });
  });
});
