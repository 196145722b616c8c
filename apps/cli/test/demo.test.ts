import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.js';

interface DemoRun {
  name: string;
  gflops: number;
  stepsPerSecond: number;
  initialLoss: number;
  finalLoss: number;
  accuracy: number;
  losses: { step: number; loss: number }[];
}

describe('nutshell demo backends', () => {
  it('--json --steps 20 trains on every available backend with decreasing, agreeing losses', async () => {
    const out = mkdtempSync(join(tmpdir(), 'nutshell-demo-'));
    try {
      const r = await runCli(['demo', 'backends', '--json', '--steps', '20', '--points', '128', '--size', '64', '--seed', '7', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result.steps).toBe(20);
      expect(result.seed).toBe(7);
      const runs = result.backends as DemoRun[];
      expect(runs.map((b) => b.name)).toContain('cpu');
      for (const b of runs) {
        expect(b.finalLoss, b.name).toBeLessThan(b.initialLoss);
        expect(b.losses[0]).toEqual({ step: 0, loss: b.initialLoss });
        expect(b.losses.at(-1)!.step).toBe(20);
        expect(b.gflops).toBeGreaterThan(0);
        expect(b.stepsPerSecond).toBeGreaterThan(0);
        expect(b.accuracy).toBeGreaterThanOrEqual(0);
        expect(b.accuracy).toBeLessThanOrEqual(1);
      }
      // Two balanced classes, zero-bias He init: the initial loss is near ln 2, not far from it.
      expect(runs[0]!.initialLoss).toBeGreaterThan(0.3);
      expect(runs[0]!.initialLoss).toBeLessThan(3);
      // Same seed → same initial weights → the same initial loss on every backend.
      const cpu = runs.find((b) => b.name === 'cpu')!;
      for (const b of runs) expect(Math.abs(b.initialLoss - cpu.initialLoss)).toBeLessThan(1e-4);
      expect(result.agreement.agree).toBe(true);
      expect(result.agreement.reference).toBe('cpu');
      // The fastest matmul is picked.
      const fastest = runs.reduce((a, b) => (b.gflops > a.gflops ? b : a));
      expect(result.picked.name).toBe(fastest.name);
      // --out writes the same result.
      expect(JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8'))).toEqual(result);
      // Progress went to stderr as JSON lines (stderr is not a terminal here).
      const progress = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      expect(progress.some((p) => p.type === 'done' && p.label === 'train cpu' && p.current === 20)).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the same seed gives the same losses; a different seed different ones', async () => {
    const run = async (seed: string) => {
      const r = await runCli(['demo', 'backends', '--json', '--backends', 'cpu', '--steps', '5', '--points', '64', '--size', '32', '--seed', seed]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout).backends as DemoRun[])[0]!.losses;
    };
    const [a, b, c] = await Promise.all([run('1'), run('1'), run('2')]);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('with enough steps the MLP learns the spirals', async () => {
    const r = await runCli(['demo', 'backends', '--json', '--backends', 'cpu', '--steps', '150', '--size', '32']);
    expect(r.code, r.stderr).toBe(0);
    const [cpu] = JSON.parse(r.stdout).backends as DemoRun[];
    expect(cpu!.accuracy).toBeGreaterThan(0.9);
  });
});
