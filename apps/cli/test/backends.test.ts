import { describe, expect, it } from 'vitest';
import { ownLines, runCli } from './run-cli.js';

interface Row {
  name: string;
  packageName: string;
  installed: boolean;
  available: boolean;
  priority: number;
  reason: string;
  picked: boolean;
  why: string;
}

describe('nutshell backends', () => {
  it('--json: every known backend with availability and reasons, and what auto picks', async () => {
    const r = await runCli(['backends', '--json']);
    expect(r.code).toBe(0);
    expect(ownLines(r.stderr)).toEqual([]);
    const out = JSON.parse(r.stdout) as { auto: { name: string; reason: string }; backends: Row[] };
    const names = out.backends.map((b) => b.name).sort();
    expect(names).toEqual(['cpu', 'native', 'wasm', 'webgpu']);
    for (const b of out.backends) {
      expect(typeof b.reason).toBe('string');
      expect(b.reason.length).toBeGreaterThan(0);
      expect(typeof b.why).toBe('string');
      expect(b.packageName).toMatch(/^@nutshell\//);
      if (!b.installed) expect(b.available).toBe(false);
    }
    const cpu = out.backends.find((b) => b.name === 'cpu')!;
    expect(cpu.available).toBe(true);
    // auto picks the available backend with the highest priority, and says so.
    const available = out.backends.filter((b) => b.available);
    const best = available.reduce((a, b) => (b.priority > a.priority ? b : a));
    expect(out.auto.name).toBe(best.name);
    expect(out.backends.filter((b) => b.picked).map((b) => b.name)).toEqual([best.name]);
    expect(out.auto.reason).toMatch(/fastest|priority/);
    for (const b of out.backends.filter((x) => !x.picked)) {
      expect(b.why).toEqual(b.available ? expect.stringContaining(`auto prefers ${best.name}`) : b.reason);
    }
  });

  it('human output says what auto picks', async () => {
    const r = await runCli(['backends']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^auto picks \w+: /m);
    expect(r.stdout).toMatch(/^cpu\s+yes\s+10\s+@nutshell\/core/m);
  });

  it('asking for a backend that cannot run here fails with one line naming it', async () => {
    const rows = JSON.parse((await runCli(['backends', '--json'])).stdout).backends as Row[];
    const missing = rows.find((b) => !b.available);
    if (!missing) return; // every backend runs on this machine: nothing to check
    const demo = await runCli(['demo', '--backend', missing.name, '--json']);
    expect(demo.code).toBe(1);
    expect(ownLines(demo.stderr)).toHaveLength(1);
    expect(ownLines(demo.stderr)[0]).toContain(missing.name);
    expect(demo.stdout).toBe('');
  });
});
