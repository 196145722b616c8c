import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, Rng, createKit, type CommandSpec } from '@nutshell/core';
import { counterfactualSwap } from '@nutshell/ethics-audit';
import plugin from '@nutshell/ethics-audit/plugin';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ethics-cli-files-'));
const file = (name: string) => join(dir, name);

/** A textured test image written with pngjs directly (independent of the package's PNG code). */
function writeTestPng(path: string, size: number, colorType: 0 | 2 | 6, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const png = new pngjs.PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const o = 4 * (y * size + x);
    const base = 128 + 50 * Math.sin(x / 7 + seed) * Math.cos(y / 9) + 6 * rng.normal();
    png.data[o] = Math.max(0, Math.min(255, Math.round(base)));
    png.data[o + 1] = colorType === 0 ? png.data[o]! : Math.max(0, Math.min(255, Math.round(base * 0.8 + 20)));
    png.data[o + 2] = colorType === 0 ? png.data[o]! : Math.max(0, Math.min(255, Math.round(255 - base)));
    png.data[o + 3] = colorType === 6 ? (x * 4 + y) % 256 : 255;
  }
  writeFileSync(path, pngjs.PNG.sync.write(png, { colorType, inputColorType: 6 }));
  return Uint8Array.from(png.data);
}

function readRgba(path: string) {
  const p = pngjs.PNG.sync.read(readFileSync(path));
  return { width: p.width, height: p.height, colorType: p.colorType, data: Uint8Array.from(p.data) };
}

/** PSNR over the colour channels of two RGBA buffers. */
function psnrRgb(a: Uint8Array, b: Uint8Array): number {
  let se = 0, n = 0;
  for (let i = 0; i < a.length; i++) if (i % 4 !== 3) { se += (a[i]! - b[i]!) ** 2; n++; }
  return 10 * Math.log10((255 * 255) / (se / n));
}

const noTempFiles = () => expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

describe('audit CLI: watermark-image, verbatim, cda', async () => {
  const kit = await createKit({ backend: false, plugins: [plugin] });
  const cmd = kit.get('commands', 'audit') as CommandSpec;
  const lines: string[] = [];
  const run = (args: string[], options: Record<string, unknown>) => cmd.run({ args, options: options as never, json: true, kit, print: (l) => lines.push(l) }) as Promise<Record<string, unknown>>;

  it('watermark-image embed/detect round-trips RGB, gray and RGBA PNGs', async () => {
    for (const [colorType, channels] of [[2, 3], [0, 1], [6, 4]] as const) {
      const src = file(`src-${colorType}.png`), out = file(`marked-${colorType}.png`);
      const original = writeTestPng(src, 96, colorType, colorType + 1);
      const payload = '0x5a3c91f0';
      const e = await run(['watermark-image', 'embed'], { in: src, out, key: 'k1', payload, psnr: 40 });
      expect(e).toMatchObject({ out, width: 96, height: 96, channels, bits: 32, payload: '01011010001111001001000111110000' });
      const marked = readRgba(out);
      expect([marked.width, marked.height, marked.colorType]).toEqual([96, 96, colorType]);
      // The mark is invisible by the target: PSNR measured on the written file.
      expect(psnrRgb(marked.data, original)).toBeGreaterThanOrEqual(40 - 0.05);
      if (colorType === 6) for (let i = 3; i < original.length; i += 4) expect(marked.data[i]).toBe(original[i]); // alpha untouched
      const d = await run(['watermark-image', 'detect'], { in: out, key: 'k1', bits: 32 });
      expect(d.detected).toBe(true);
      expect(d.payload).toBe(e.payload);
      const known = await run(['watermark-image', 'detect'], { in: out, key: 'k1', payload });
      expect(known).toMatchObject({ detected: true, bitAccuracy: 1, statistic: 'known-payload' });
      expect((await run(['watermark-image', 'detect'], { in: src, key: 'k1', bits: 32 })).detected).toBe(false);
      expect((await run(['watermark-image', 'detect'], { in: out, key: 'other', bits: 32 })).detected).toBe(false);
    }
    noTempFiles();
  });

  it('watermark-image: typed errors, and a failed run leaves --out untouched', async () => {
    const src = file('src-2.png'), out = file('keep.png');
    writeFileSync(out, 'previous contents');
    writeFileSync(file('not.png'), 'not a png');
    await expect(run(['watermark-image', 'embed'], { in: file('not.png'), out, key: 'k', payload: '0101' })).rejects.toThrow(FormatError);
    await expect(run(['watermark-image', 'embed'], { in: file('missing.png'), out, key: 'k', payload: '0101' })).rejects.toThrow(InvalidArgumentError);
    await expect(run(['watermark-image', 'embed'], { in: src, out, key: 'k', payload: '01x1' })).rejects.toThrow(/--payload/);
    await expect(run(['watermark-image', 'embed'], { in: src, out, payload: '0101' })).rejects.toThrow(/--key/);
    await expect(run(['watermark-image', 'embed'], { in: src, out: join(dir, 'no-such-dir', 'x.png'), key: 'k', payload: '0101' })).rejects.toThrow(/cannot write/);
    expect(readFileSync(out, 'utf8')).toBe('previous contents');
    await expect(run(['watermark-image', 'detect'], { in: src, key: 'k' })).rejects.toThrow(/--bits/);
    await expect(run(['watermark-image', 'detect'], { in: src, key: 'k', bits: 8, payload: '0101' })).rejects.toThrow(/does not match/);
    await expect(run(['watermark-image'], { in: src, key: 'k' })).rejects.toThrow(/embed" or "detect/);
    await expect(run(['fairness', 'extra'], {})).rejects.toThrow(/unexpected argument/);
    noTempFiles();
  });

  it('verbatim finds a planted span of the corpus in generated texts', async () => {
    const rng = new Rng(3);
    const words = 'the of model data train sample quick brown fox lazy dog river stone light'.split(' ');
    const doc = () => Array.from({ length: 300 }, () => words[rng.int(words.length)]).join(' ');
    const corpus = [doc(), doc(), doc()];
    writeFileSync(file('corpus.json'), JSON.stringify(corpus));
    const secret = 'my card number is 4111 1111 1111 1111 and the PIN is 9876, keep it safe';
    writeFileSync(file('corpus.txt'), `${corpus[0]}\n${secret}\n${corpus[1]}`);
    const planted = corpus[1]!.slice(400, 470);
    const texts = [`XYZ ${planted} QRS`, 'nothing like the corpus here: 0123456789 !@#$%^&*()', { text: `prefix: ${secret.slice(0, 60)}` }];
    writeFileSync(file('gen.jsonl'), texts.map((t) => JSON.stringify(t)).join('\n'));
    const r = await run(['verbatim'], { corpus: file('corpus.json'), texts: file('gen.jsonl'), 'min-length': 50 }) as { extractedCount: number; texts: { extracted: boolean; spans: { text: string; length: number; doc: number }[] }[] };
    expect(r.extractedCount).toBe(1);
    expect(r.texts.map((t) => t.extracted)).toEqual([true, false, false]);
    expect(r.texts[0]!.spans[0]!.text).toContain(planted);
    expect(r.texts[0]!.spans[0]!.doc).toBe(1);
    // Plain-text corpus = one document; the secret is found.
    const p = await run(['verbatim'], { corpus: file('corpus.txt'), texts: file('gen.jsonl'), 'min-length': 40 }) as { texts: { extracted: boolean; longest: { length: number } }[] };
    expect(p.texts[2]!.extracted).toBe(true);
    expect(p.texts[2]!.longest.length).toBeGreaterThanOrEqual(60);
    const tok = await run(['verbatim'], { corpus: file('corpus.json'), texts: file('gen.jsonl'), 'min-length': 50, tokenizer: 'bytes' });
    expect(tok.unit).toBe('token');
    await expect(run(['verbatim'], { corpus: file('corpus.json'), texts: file('gen.jsonl'), 'min-length': 0 })).rejects.toThrow(/min-length/);
    writeFileSync(file('bad.jsonl'), '"ok"\n{oops');
    await expect(run(['verbatim'], { corpus: file('corpus.json'), texts: file('bad.jsonl') })).rejects.toThrow(/line 2/);
    await expect(run(['verbatim'], { corpus: file('nope.json'), texts: file('gen.jsonl') })).rejects.toThrow(InvalidArgumentError);
  });

  it('cda writes the augmented corpus in the format of --out', async () => {
    const input = ['He thanked her for his book.', 'The weather is fine.', 'My mother met the king.'];
    writeFileSync(file('in.txt'), `${input.join('\n')}\n`);
    const r = await run(['cda'], { in: file('in.txt'), out: file('out.jsonl') });
    expect(r).toMatchObject({ texts: 3, written: 5, changed: 2 });
    const rows = readFileSync(file('out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; source: number; counterfactual: boolean });
    expect(rows.map((x) => x.text)).toEqual([input[0], counterfactualSwap(input[0]!).text, input[1], input[2], counterfactualSwap(input[2]!).text]);
    expect(rows[1]).toMatchObject({ source: 0, counterfactual: true });
    expect(rows[4]!.text).toBe('My father met the queen.');
    // One text per line out, one-sided with custom pairs, and substitution with a seed.
    writeFileSync(file('pairs.json'), JSON.stringify([['weather', 'climate']]));
    await run(['cda'], { in: file('in.txt'), out: file('out.txt'), pairs: file('pairs.json'), direction: 'to-second' });
    expect(readFileSync(file('out.txt'), 'utf8')).toBe(`${input[0]}\n${input[1]}\nThe climate is fine.\n${input[2]}\n`);
    const s1 = await run(['cda'], { in: file('in.txt'), out: file('s1.json'), mode: 'substitute', probability: 1, seed: 4 });
    expect(s1.written).toBe(3);
    expect(JSON.parse(readFileSync(file('s1.json'), 'utf8'))).toEqual(input.map((t) => counterfactualSwap(t).text));
    await expect(run(['cda'], { in: file('in.txt'), out: file('x.jsonl'), mode: 'flip' })).rejects.toThrow(/--mode/);
    await expect(run(['cda'], { in: file('in.txt') })).rejects.toThrow(/--out/);
    writeFileSync(file('badpairs.json'), '[["a"]]');
    await expect(run(['cda'], { in: file('in.txt'), out: file('x.jsonl'), pairs: file('badpairs.json') })).rejects.toThrow(FormatError);
    expect(existsSync(file('x.jsonl'))).toBe(false);
    noTempFiles();
  });

  it('report takes a representation part from the config and writes atomically', async () => {
    const labels = [...Array(70).fill(0), ...Array(20).fill(1), ...Array(10).fill(2)];
    writeFileSync(file('audit.json'), JSON.stringify({ model: { name: 'gen' }, representation: { labels, classes: ['x', 'y', 'z'], max_total_variation: 0.1 } }));
    const r = await run(['report'], { config: file('audit.json'), out: file('report.json') }) as { findings: { check: string; severity: string }[] };
    expect(r.findings.find((f) => f.check === 'representation')?.severity).toBe('high');
    expect(JSON.parse(readFileSync(file('report.json'), 'utf8')).findings).toEqual(r.findings);
    writeFileSync(file('audit-bad.json'), JSON.stringify({ model: 'gen', representation: { labels } }));
    await expect(run(['report'], { config: file('audit-bad.json') })).rejects.toThrow(/representation.classes/);
    noTempFiles();
  });

  it('documents every subcommand (--help) and answers "audit help <subcommand>"', async () => {
    for (const sub of ['watermark-image', 'verbatim', 'cda', 'fairness', 'report']) {
      expect(cmd.description).toContain(`  ${sub} `);
      const h = await run(['help', sub], {});
      expect(h.usage).toMatch(new RegExp(`^nutshell audit ${sub} `));
    }
    await expect(run(['help', 'nope'], {})).rejects.toThrow(/unknown subcommand/);
    const names = new Set(cmd.options!.map((o) => o.name));
    for (const o of ['in', 'payload', 'bits', 'psnr', 'corpus', 'texts', 'min-length', 'mode', 'pairs']) expect(names.has(o)).toBe(true);
  });

  // The real binary, when apps/cli is built: argument parsing, --json, exit codes and one-line errors.
  const bin = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));
  it.skipIf(!existsSync(bin))('runs through the nutshell binary', async () => {
    const exec = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const env = { ...process.env, NUTSHELL_PROGRESS: '' };
      delete env.NODE_PATH;
      const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    writeTestPng(file('bin.png'), 64, 2, 9);
    const e = await exec(['audit', 'watermark-image', 'embed', '--in', 'bin.png', '--out', 'bin-marked.png', '--key', 'kk', '--payload', '0011010111', '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ bits: 10, payload: '0011010111' });
    expect((await run(['watermark-image', 'detect'], { in: file('bin-marked.png'), key: 'kk', bits: 10 })).payload).toBe('0011010111');
    const bad = await exec(['audit', 'watermark-image', 'detect', '--in', 'missing.png', '--key', 'kk', '--bits', '10']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n').filter((l) => l.startsWith('nutshell:'))).toHaveLength(1);
    expect(bad.stderr).not.toMatch(/^\s+at\s/m);
  });
});
