import { describe, expect, it } from 'vitest';
import { createProgress } from '@nutshell/cli/progress';

/** A fake stream and clock, so output is deterministic. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (c: string) => chunks.push(c) } };
}

describe('createProgress', () => {
  it('writes JSON lines when the stream is not a terminal, about every 10%, then a done line', () => {
    const { chunks, stream } = sink(false);
    let t = 1000;
    const p = createProgress({ label: 'train cpu', total: 50, stream, now: () => t });
    expect(p.mode).toBe('json');
    for (let i = 1; i <= 50; i++) {
      t += 10;
      p.update(i, { loss: 1 / i });
    }
    p.done({ loss: 0.02 });
    const records = chunks.map((c) => {
      expect(c.endsWith('\n')).toBe(true);
      return JSON.parse(c);
    });
    const progress = records.filter((r) => r.type === 'progress');
    expect(progress.map((r) => r.current)).toEqual([1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    expect(progress[1]).toEqual({ type: 'progress', label: 'train cpu', current: 5, total: 50, fraction: 0.1, elapsed: 0.05, loss: 0.2 });
    expect(records.at(-1)).toMatchObject({ type: 'done', current: 50, total: 50, fraction: 1, loss: 0.02 });
    p.done();
    p.update(3);
    expect(chunks).toHaveLength(records.length);
  });

  it('redraws one bar on a terminal, throttled, and ends it with a newline', () => {
    const { chunks, stream } = sink(true);
    let t = 0;
    const p = createProgress({ label: 'bench', total: 4, stream, now: () => t, redrawMs: 100 });
    expect(p.mode).toBe('bar');
    p.update(1);
    t += 10;
    p.update(2); // too soon: skipped
    t += 200;
    p.update(3, { loss: 0.123456 });
    p.done();
    expect(chunks).toHaveLength(3);
    for (const c of chunks) expect(c.startsWith('\r\x1b[2K')).toBe(true);
    expect(chunks[0]).toContain(' 25% 1/4');
    expect(chunks[1]).toContain(' 75% 3/4 loss=0.1235');
    expect(chunks[2]).toMatch(/100% 4\/4\n$/);
    expect(chunks.slice(0, 2).every((c) => !c.includes('\n'))).toBe(true);
  });

  it("mode 'none' writes nothing", () => {
    const { chunks, stream } = sink(true);
    const p = createProgress({ label: 'x', total: 3, stream, mode: 'none' });
    p.update(1);
    p.done();
    expect(chunks).toEqual([]);
  });
});
