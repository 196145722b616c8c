import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKit, InvalidArgumentError, type CommandSpec, type Kit } from '@nutshell/core';
import { encodeNpy, fid } from '@nutshell/metrics';
import metricsPlugin from '@nutshell/metrics/plugin';
import { beforeAll, describe, expect, it } from 'vitest';

let kit: Kit;
const dir = mkdtempSync(join(tmpdir(), 'nutshell-metrics-'));
const file = (name: string, content: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

async function run(args: string[], options: Record<string, string | number | boolean | undefined>) {
  const spec = kit.get('commands', 'metrics') as CommandSpec;
  const lines: string[] = [];
  const result = await spec.run({ args, options, json: true, kit, print: (l) => lines.push(l) });
  return { result: result as Record<string, unknown>, lines };
}

beforeAll(async () => {
  kit = await createKit({ backend: false, plugins: [metricsPlugin] });
});

describe('metrics plugin', () => {
  it('registers metrics and the command', () => {
    expect(kit.list('metrics')).toEqual(expect.arrayContaining(['bleu', 'chrf', 'rouge', 'fid', 'kid', 'precision-recall', 'roc-auc', 'perplexity']));
    expect(kit.list('commands')).toEqual(['metrics']);
  });

  it('metrics bleu prints the sacreBLEU line and returns the JSON contract', async () => {
    const hyp = file('hyp.txt', 'The dog bit the man.\nIt wasn\'t surprising.\nThe man had just bitten him.\n');
    const r1 = file('r1.txt', 'The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n');
    const r2 = file('r2.txt', 'The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n');
    const { result, lines } = await run(['bleu'], { hyp, refs: `${r1},${r2}` });
    expect(Object.keys(result)).toEqual(expect.arrayContaining(['score', 'precisions', 'bp', 'ratio', 'sys_len', 'ref_len', 'signature']));
    expect(result['score'] as number).toBeCloseTo(48.530827, 5);
    expect(lines[0]).toMatch(/^BLEU\|nrefs:2\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.5\.1 = 48\.53 /);
    const sent = await run(['bleu'], { hyp: file('one.txt', 'a test\n'), ref: file('oneref.txt', 'a test\n'), sentence: true });
    expect(sent.result['score'] as number).toBeCloseTo(100, 8);
    const boot = await run(['bleu'], { hyp, ref: r1, bootstrap: 50, seed: 1 });
    expect(boot.result['interval']).toBeDefined();
  });

  it('mismatched line counts are a typed error', async () => {
    const hyp = file('h2.txt', 'a\nb\n');
    const ref = file('r3.txt', 'a\n');
    await expect(run(['bleu'], { hyp, ref })).rejects.toThrow(InvalidArgumentError);
    await expect(run(['nope'], {})).rejects.toThrow(/unknown metric/);
  });

  it('metrics chrf and rouge', async () => {
    const hyp = file('ch.txt', 'a b c\n');
    const ref = file('cr.txt', 'abc\n');
    const c = await run(['chrf'], { hyp, ref, 'word-order': 2 });
    expect(c.result['signature']).toBe('nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.5.1');
    const pairs = file('p.jsonl', '{"target": "testing one two", "prediction": "testing one"}\n{"target": "w1 w2", "prediction": "w2"}\n');
    const r = await run(['rouge'], { pairs, types: 'rouge1,rougeL' });
    const per = r.result['per_example'] as Record<string, { precision: number; recall: number; fmeasure: number }>[];
    expect(per[0]!['rouge1']!.fmeasure).toBeCloseTo(0.8, 12);
    expect((r.result['mean'] as Record<string, { recall: number }>)['rouge1']!.recall).toBeCloseTo((2 / 3 + 1 / 2) / 2, 12);
  });

  it('metrics fid / kid / precision-recall on .npy files', async () => {
    const a = Float64Array.from({ length: 40 * 5 }, (_, i) => Math.sin(i * 1.3));
    const b = Float32Array.from({ length: 30 * 5 }, (_, i) => Math.cos(i * 0.7) + 0.2);
    const pa = file('a.npy', encodeNpy(a, [40, 5]));
    const pb = file('b.npy', encodeNpy(b, [30, 5]));
    const r = await run(['fid'], { a: pa, b: pb });
    expect(r.result['fid'] as number).toBeCloseTo(fid({ rows: 40, cols: 5, data: a }, { rows: 30, cols: 5, data: b }).value, 10);
    const k = await run(['kid'], { a: pa, b: pb, subsets: 4, 'subset-size': 20 });
    expect(typeof k.result['kid']).toBe('number');
    const p = await run(['precision-recall'], { a: pa, b: pb, k: 3 });
    expect(p.result['precision']).toBeGreaterThanOrEqual(0);
    const bad = file('bad.npy', encodeNpy(new Float64Array([1, NaN, 3, 4]), [2, 2]));
    await expect(run(['fid'], { a: bad, b: pb })).rejects.toThrow(/finite/);
  });

  it('metrics perplexity', async () => {
    const p = file('lp.json', JSON.stringify({ token_logprobs: [[Math.log(0.5), Math.log(0.25)], [Math.log(0.125)]], mask: [[1, 1], [0]] }));
    const r = await run(['perplexity'], { logprobs: p });
    expect(r.result['perplexity'] as number).toBeCloseTo(Math.sqrt(8), 12);
    expect(r.result['token_count']).toBe(2);
  });
});
