import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '@nutshell/ethics-audit';
import { decodePng } from '@nutshell/gan';
import { runCli, type CliRun } from './run-cli.js';

/** The header of a safetensors file: tensor name → { dtype, shape, data_offsets }. */
function safetensorsHeader(file: string): Record<string, { dtype: string; shape: number[] }> {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  expect(8 + n).toBeLessThanOrEqual(bytes.length);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
  delete header.__metadata__;
  return header;
}

function finiteNumbers(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path];
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => finiteNumbers(v, `${path}.${k}`));
  return [];
}

describe('nutshell demo --quick (the whole pipeline at a tiny size)', () => {
  let parent: string;
  let out: string;
  let run: CliRun;
  let summary: Record<string, any>;

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'nutshell-demo-report-'));
    out = join(parent, 'report');
    run = await runCli(['demo', '--quick', '--json', '--seed', '3', '--out', out]);
    summary = run.code === 0 ? JSON.parse(run.stdout) : {};
  }, 180_000);

  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('exits 0 with the summary object on stdout and progress as JSON lines on stderr', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(summary.out).toBe(out);
    expect(summary.quick).toBe(true);
    expect(summary.seed).toBe(3);
    expect(summary.stages.map((s: { stage: string }) => s.stage)).toEqual(['data', 'gpt', 'generate', 'lora', 'quantize', 'evaluate', 'image', 'audit', 'report']);
    for (const b of summary.backends) expect(['wasm', 'cpu', 'native', 'webgpu']).toContain(b.backend);
    // Each stage runs where the start-up measurement of its kind of work was fastest.
    const probe = summary.backendProbe.secondsPerUnit as Record<string, Record<'train' | 'decode' | 'gan', number>>;
    const workload: Record<string, 'train' | 'decode' | 'gan'> = { gpt: 'train', lora: 'train', quantize: 'train', evaluate: 'train', generate: 'decode', audit: 'decode', image: 'gan' };
    const measured = Object.keys(probe);
    if (measured.length > 1) {
      for (const b of summary.backends) {
        const w = workload[b.stage]!;
        const fastest = measured.reduce((x, y) => (probe[y]![w] < probe[x]![w] ? y : x));
        expect(b.backend, b.stage).toBe(fastest);
        expect(b.why, b.stage).toMatch(/measured at start-up/);
      }
    }
    for (const t of Object.values(probe)) for (const v of Object.values(t)) expect(v).toBeGreaterThan(0);
    expect(summary.definitions).toHaveLength(3);
    const progress = run.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    for (const label of ['train gpt', 'lora', 'quantize', 'train gan', 'watermark']) {
      expect(progress.some((p) => p.type === 'done' && p.label === label), label).toBe(true);
    }
  });

  it('index.html references images that exist and are valid PNGs', () => {
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
    expect(srcs).toEqual(expect.arrayContaining(['images/gpt-loss.png', 'images/lora-loss.png', 'images/gan-loss.png', 'images/gan-samples.png', 'images/mnist-real.png']));
    for (const src of srcs) {
      const bytes = readFileSync(join(out, src));
      expect([...bytes.subarray(0, 8)], src).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      const img = decodePng(new Uint8Array(bytes));
      expect(img.width, src).toBeGreaterThan(20);
      expect(img.height, src).toBeGreaterThan(20);
      // Not a blank image: at least two distinct grey levels.
      const levels = new Set<number>();
      for (let i = 0; i < img.data.length; i += 4) levels.add(img.data[i]!);
      expect(levels.size, src).toBeGreaterThan(1);
    }
    // The 8×8 sample grid of 28×28 digits with 2-pixel padding.
    const grid = decodePng(new Uint8Array(readFileSync(join(out, 'images/gan-samples.png'))));
    expect([grid.width, grid.height]).toEqual([8 * 28 + 9 * 2, 8 * 28 + 9 * 2]);
    for (const href of [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!)) expect(existsSync(join(out, href)), href).toBe(true);
  });

  it('metrics.json has every section with finite numbers, and --json prints the same metrics', () => {
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(Object.keys(metrics)).toEqual(['gpt', 'heldOut', 'lora', 'quantization', 'gan', 'watermark', 'bias', 'carbon']);
    expect(finiteNumbers(metrics)).toEqual([]);
    expect(metrics.gpt.steps).toBe(6);
    expect(metrics.gpt.valLoss).toBeGreaterThan(0);
    expect(metrics.heldOut.perplexity).toBeGreaterThan(1);
    // A character model cannot be more perplexed than uniform over its vocabulary by much at init.
    expect(metrics.heldOut.bleu).toBeGreaterThanOrEqual(0);
    expect(metrics.heldOut.bleu).toBeLessThanOrEqual(100);
    for (const k of ['rouge1', 'rouge2', 'rougeL']) {
      expect(metrics.heldOut[k]).toBeGreaterThanOrEqual(0);
      expect(metrics.heldOut[k]).toBeLessThanOrEqual(1);
    }
    expect(metrics.lora.steps).toBe(3);
    expect(metrics.lora.domainLossBefore).toBeGreaterThan(0);
    // int8 and NF4 shrink the model; NF4 more than int8.
    const q = metrics.quantization;
    expect(q.int8.bytes).toBeLessThan(q.fp32.bytes);
    expect(q.nf4.bytes).toBeLessThan(q.int8.bytes);
    expect(Math.abs(q.int8.perplexity / q.fp32.perplexity - 1)).toBeLessThan(0.05);
    expect(metrics.gan.steps).toBe(10);
    // Green-list watermark: the watermarked text is detected, the same sampling without it is not.
    expect(metrics.watermark.detected).toBe(true);
    expect(metrics.watermark.z).toBeGreaterThan(metrics.watermark.zWithout);
    expect(metrics.carbon.emissionsKg).toBeGreaterThan(0);
    expect(typeof metrics.carbon.fallback).toBe('boolean');
    expect(summary.metrics).toEqual(metrics);
  });

  it('writes the GPT checkpoint (HF names + config.json), quantized copies and a PEFT adapter', () => {
    const config = JSON.parse(readFileSync(join(out, 'checkpoints/gpt/config.json'), 'utf8'));
    expect(config.n_layer).toBe(1);
    expect(config.n_embd).toBe(32);
    const gpt = safetensorsHeader(join(out, 'checkpoints/gpt/model.safetensors'));
    expect(gpt['transformer.wte.weight']!.shape).toEqual([config.vocab_size, 32]);
    expect(gpt['transformer.h.0.attn.c_attn.weight']!.shape).toEqual([32, 96]);
    // The BPE tokenizer sits beside the checkpoint in GPT-2's layout and reloads to the same ids.
    for (const f of ['vocab.json', 'merges.txt']) expect(existsSync(join(out, 'checkpoints/gpt', f)), f).toBe(true);
    const vocab = JSON.parse(readFileSync(join(out, 'checkpoints/gpt/vocab.json'), 'utf8'));
    expect(Object.keys(vocab).length).toBe(config.vocab_size);
    const merges = readFileSync(join(out, 'checkpoints/gpt/merges.txt'), 'utf8').trim().split('\n').filter((l) => !l.startsWith('#version'));
    expect(merges.length).toBe(config.vocab_size - 256);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    // Per-character perplexity spreads the same NLL over more units than per-token, so it is lower.
    expect(metrics.heldOut.chars).toBeGreaterThan(metrics.heldOut.tokens);
    expect(metrics.heldOut.charPerplexity).toBeLessThan(metrics.heldOut.perplexity);
    expect(Math.log(metrics.heldOut.charPerplexity) * metrics.heldOut.chars).toBeCloseTo(Math.log(metrics.heldOut.perplexity) * metrics.heldOut.tokens, 0);
    const int8 = safetensorsHeader(join(out, 'checkpoints/gpt-int8.safetensors'));
    expect(int8['transformer.h.0.attn.c_attn.weight_packed']!.dtype).toBe('U8');

    const adapter = JSON.parse(readFileSync(join(out, 'adapter/adapter_config.json'), 'utf8'));
    expect(adapter.peft_type).toBe('LORA');
    expect(adapter.r).toBe(2);
    expect(adapter.target_modules).toEqual(['c_attn', 'c_proj', 'c_fc']);
    const keys = Object.keys(safetensorsHeader(join(out, 'adapter/adapter_model.safetensors')));
    expect(keys).toContain('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight');
    expect(keys).toContain('base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight');
    for (const k of keys) expect(k).toMatch(/^base_model\.model\.transformer\.h\.\d+\.(attn|mlp)\.c_(attn|proj|fc)\.lora_[AB]\.weight$/);
  });

  it('has a model card, and an audit log that verifies and vouches for every file', () => {
    const card = readFileSync(join(out, 'model-card.md'), 'utf8');
    expect(card).toMatch(/^---\n/);
    expect(card).toContain('# Model Card: nutshell-demo-wordnet-gpt');
    expect(card).toContain('co2_eq_emissions');
    const text = readFileSync(join(out, 'audit-log.jsonl'), 'utf8');
    const v = AuditLog.verify(text);
    expect(v.valid).toBe(true);
    const entries = text.trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.map((e) => e.event)).toEqual(['data', 'train-gpt', 'generate', 'lora', 'quantize', 'evaluate', 'train-gan', 'watermark', 'bias-probe', 'carbon', 'artifacts']);
    const hashes = entries.at(-1).data as Record<string, string>;
    expect(Object.keys(hashes)).toContain('checkpoints/gpt/model.safetensors');
    for (const [file, hash] of Object.entries(hashes)) expect(createHash('sha256').update(readFileSync(join(out, file))).digest('hex'), file).toBe(hash);
    // Editing an entry breaks the chain.
    expect(AuditLog.verify(text.replace('"train-gpt"', '"train-gpt2"')).valid).toBe(false);
  });

  it('leaves no staging folder behind', () => {
    expect(readdirSync(parent)).toEqual(['report']);
  });
});

describe('nutshell demo: bad input', () => {
  it('an unknown stage or a bad budget fails fast with one line, exit 1, nothing written', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'nutshell-demo-bad-'));
    try {
      for (const argv of [['demo', 'nope'], ['demo', '--gpt-seconds', '0'], ['demo', '--domain', 'food']]) {
        const r = await runCli([...argv, '--out', join(parent, 'r')]);
        expect(r.code, argv.join(' ')).toBe(1);
        expect(r.stderr.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
        expect(r.stderr).toMatch(/^nutshell: /);
      }
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
