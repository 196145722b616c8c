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

  it('metrics distinct, self-bleu, exact-match, kl, js on files', async () => {
    const hyp = file('div.txt', 'the cat sat\nthe cat ran\n');
    const d = await run(['distinct'], { hyp });
    expect(d.result['distinct_1']).toBeCloseTo(4 / 6, 12);
    expect(d.result['distinct_2']).toBeCloseTo(3 / 4, 12);
    expect((await run(['self-bleu'], { hyp })).result['self_bleu']).toBeGreaterThan(0);
    const em = await run(['exact-match'], { hyp: file('em-h.txt', 'The Cat\nno\n'), ref: file('em-r.txt', 'cat\nyes\n'), normalize: 'squad' });
    expect(em.result['exact_match']).toBe(0.5);
    const p = file('p.json', '[0.1, 0.4, 0.5, 0.0]');
    const q = file('q.json', '[0.2, 0.3, 0.25, 0.25]');
    expect((await run(['kl'], { p, q })).result['kl']).toBeCloseTo(0.3923317012046905, 12);
    expect((await run(['kl'], { p: q, q: p })).result['kl']).toBe('Infinity');
    expect((await run(['js'], { p, q })).result['js']).toBeCloseTo(0.1199594055600035, 12);
  });

  it('metrics kappa, krippendorff and pairwise', async () => {
    const two = file('k2.json', JSON.stringify([[0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2, 2, 1, 0, 0, 1], [0, 2, 2, 1, 1, 0, 2, 1, 0, 0, 2, 1, 1, 1, 0, 1]]));
    expect((await run(['kappa'], { ratings: two, weights: 'quadratic' })).result['kappa']).toBeCloseTo(0.736842105263158, 12);
    const kc = file('kc.json', JSON.stringify([[1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3], [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null]]));
    expect((await run(['krippendorff'], { ratings: kc })).result['alpha']).toBeCloseTo(0.743, 3);
    await expect(run(['kappa'], { ratings: kc })).rejects.toThrow(InvalidArgumentError);
    const outcomes = file('o.jsonl', ['{"a":"x","b":"y","winner":"a"}', '{"a":"x","b":"y","winner":"a"}', '{"a":"y","b":"x","winner":"a"}', '{"a":"x","b":"y","winner":"tie"}'].join('\n'));
    const pw = await run(['pairwise'], { outcomes });
    const rates = pw.result['win_rates'] as Record<string, { winRate: number }>;
    expect(rates['x']!.winRate).toBeCloseTo(2.5 / 4, 12);
    expect(pw.result['bradley_terry']).toHaveProperty('strengths');
  });

  it('metrics mmd and swd on feature files; mnist-fid on N×784 images', async () => {
    const rows = (shift: number, n: number, d: number) => Float64Array.from({ length: n * d }, (_, k) => Math.sin(Math.floor(k / d) * 1.3 + (k % d) * 0.7) + shift);
    const a = file('ma.npy', encodeNpy(rows(0, 12, 3), [12, 3]));
    const b = file('mb.npy', encodeNpy(rows(3, 12, 3), [12, 3]));
    expect((await run(['mmd'], { a, b, sigma: 1 })).result['mmd']).toBeGreaterThan(0);
    expect((await run(['swd'], { a, b })).result['swd']).toBeGreaterThan(0);
    const img = (k: number) => Float32Array.from({ length: 4 * 784 }, (_, j) => ((Math.floor(j / 784) * 31 + j * k) % 17) / 16);
    const ia = file('ia.npy', encodeNpy(img(3), [4, 784]));
    const ib = file('ib.npy', encodeNpy(img(5), [4, 784]));
    const r = await run(['mnist-fid'], { a: ia, b: ib });
    expect(r.result['fid']).toBeGreaterThan(0);
    expect(r.result['extractor']).toBe('mnist-features');
    expect((await run(['mnist-is'], { a: ia })).result['is']).toBeGreaterThanOrEqual(1);
  });
});

