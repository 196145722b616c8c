import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, ShapeError, loadSafetensors, parseSafetensors, rawToTensor, saveSafetensors, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { GPT, gptConfig, loadGpt2, saveGpt2, type GptConfigInput } from '@nutshell/transformer';
import { perplexity } from '@nutshell/metrics';
import { afterAll, describe, expect, it } from 'vitest';

const FIX = fileURLToPath(new URL('./fixtures/gpt2-tiny/', import.meta.url));
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as { input_ids: number[][]; logits: number[][][] };
const tmp = mkdtempSync(join(tmpdir(), 'nutshell-gpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function maxDiff(a: number[][][], b: number[][][]): number {
  let m = 0;
  a.forEach((s, i) => s.forEach((r, j) => r.forEach((v, k) => (m = Math.max(m, Math.abs(v - b[i]![j]![k]!))))));
  return m;
}

function logitsOf(model: GPT, ids: number[][]): number[][][] {
  const t = model.forward(ids);
  const a = t.arraySync() as number[][][];
  t.dispose();
  return a;
}

const tiny = (extra: Partial<GptConfigInput> = {}): GPT => new GPT({ vocabSize: 40, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 24, ...extra }, { seed: 7 });

describe('GPT-2 checkpoints (Hugging Face layout)', () => {
  it('gives the logits of a PyTorch reference of HF GPT2LMHeadModel within 1e-4', async () => {
    const model = await loadGpt2(FIX);
    const d = maxDiff(logitsOf(model, expected.input_ids), expected.logits);
    expect(d).toBeLessThan(1e-4);
    // A wrong detail (e.g. exact gelu instead of gelu_new) must be visible at this tolerance.
    expect(Math.max(...expected.logits.flat(2).map(Math.abs))).toBeGreaterThan(1);
    expect(model.config).toMatchObject({ nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: 100, nPositions: 16, activation: 'gelu_new', tieWeights: true });
    model.dispose();
  });

  it('reads the hub form too: no transformer. prefix, attn.bias mask buffers, an lm_head copy', async () => {
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(join(FIX, 'model.safetensors'))));
    const hub: Record<string, Tensor> = {};
    for (const [k, raw] of Object.entries(tensors)) hub[k.replace(/^transformer\./, '')] = rawToTensor(raw, k);
    hub['h.0.attn.bias'] = tf.ones([1, 1, 16, 16]);
    hub['h.1.attn.masked_bias'] = tf.scalar(-1e4);
    hub['lm_head.weight'] = tf.clone(hub['wte.weight']!);
    const dir = join(tmp, 'hub');
    mkdirSync(dir);
    copyFileSync(join(FIX, 'config.json'), join(dir, 'config.json'));
    writeFileSync(join(dir, 'model.safetensors'), saveSafetensors(hub));
    Object.values(hub).forEach((t) => t.dispose());
    const model = await loadGpt2(dir);
    expect(maxDiff(logitsOf(model, expected.input_ids), expected.logits)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('saves in the layout it loads: same tensors, HF key names, tied head left out, HF config keys', async () => {
    const model = await loadGpt2(FIX);
    const out = join(tmp, 'saved');
    await saveGpt2(model, out);
    const orig = parseSafetensors(new Uint8Array(readFileSync(join(FIX, 'model.safetensors')))).tensors;
    const saved = loadSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(Object.keys(saved.tensors).sort()).toEqual(Object.keys(orig).sort());
    expect(saved.metadata).toEqual({ format: 'pt' });
    for (const [k, t] of Object.entries(saved.tensors)) {
      expect(Buffer.from((t.dataSync() as Float32Array).buffer).equals(Buffer.from(orig[k]!.data))).toBe(true);
      t.dispose();
    }
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'gpt2', n_layer: 2, n_head: 2, n_embd: 32, n_positions: 16, vocab_size: 100, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', tie_word_embeddings: true });
    const again = await loadGpt2(out);
    expect(maxDiff(logitsOf(again, expected.input_ids), logitsOf(model, expected.input_ids))).toBe(0);
    model.dispose();
    again.dispose();
  });

  it('untied heads, no biases, post-LN and rotary models round-trip through the same files', async () => {
    for (const extra of [{ tieWeights: false }, { bias: false, preLN: false }, { positionEmbedding: 'rope' as const, activation: 'relu' as const }]) {
      const m = tiny(extra);
      const dir = join(tmp, `rt-${JSON.stringify(extra).replace(/\W/g, '')}`);
      await saveGpt2(m, dir);
      const keys = Object.keys(parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))).tensors);
      expect(keys.includes('lm_head.weight')).toBe(extra.tieWeights === false);
      expect(keys.some((k) => k.endsWith('c_attn.bias'))).toBe(extra.bias !== false);
      expect(keys.includes('transformer.wpe.weight')).toBe(!('positionEmbedding' in extra));
      const back = await loadGpt2(dir);
      expect(back.config).toEqual(m.config);
      const ids = [[1, 5, 9, 2, 33]];
      expect(maxDiff(logitsOf(back, ids), logitsOf(m, ids))).toBe(0);
      m.dispose();
      back.dispose();
    }
  });

  it('rejects checkpoints that do not fit the config with a FormatError naming the keys', async () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir);
    const cfg = JSON.parse(readFileSync(join(FIX, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_layer: 3 }));
    copyFileSync(join(FIX, 'model.safetensors'), join(dir, 'model.safetensors'));
    await expect(loadGpt2(dir)).rejects.toThrow(FormatError);
    await expect(loadGpt2(dir)).rejects.toThrow(/transformer\.h\.2\./);
    writeFileSync(join(dir, 'config.json'), '{ not json');
    await expect(loadGpt2(dir)).rejects.toThrow(FormatError);
    await expect(loadGpt2(join(tmp, 'missing'))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('GPT decoder', () => {
  it('uses Hugging Face GPT-2 parameter names and Conv1D [in, out] layout', () => {
    const m = tiny();
    const names = m.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`);
    expect(names).toContain('transformer.wte.weight 40x16');
    expect(names).toContain('transformer.wpe.weight 24x16');
    expect(names).toContain('transformer.h.0.attn.c_attn.weight 16x48');
    expect(names).toContain('transformer.h.1.mlp.c_fc.weight 16x64');
    expect(names).toContain('transformer.h.1.mlp.c_proj.weight 64x16');
    expect(names).toContain('transformer.ln_f.bias 16');
    // Tied: one variable, listed once under wte.
    expect(m.getParameter('lm_head.weight')).toBe(m.getParameter('transformer.wte.weight'));
    expect(names.some((n) => n.startsWith('lm_head'))).toBe(false);
    m.dispose();
  });

  it('is causal: logits at position t do not depend on later tokens', () => {
    const m = tiny();
    const a = logitsOf(m, [[3, 4, 5, 6, 7, 8]]);
    const b = logitsOf(m, [[3, 4, 5, 9, 9, 9]]);
    expect(maxDiff([a[0]!.slice(0, 3)], [b[0]!.slice(0, 3)])).toBe(0);
    expect(maxDiff([a[0]!.slice(3)], [b[0]!.slice(3)])).toBeGreaterThan(1e-4);
    m.dispose();
  });

  for (const [label, extra] of [['learned positions', {}], ['rotary', { positionEmbedding: 'rope' as const }], ['post-LN, no bias', { preLN: false, bias: false }]] as const) {
    it(`KV-cached and uncached logits agree within 1e-4 (${label})`, () => {
      const m = tiny(extra);
      const seq = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]];
      const full = logitsOf(m, seq);
      const cache = m.createCache();
      const parts = [[0, 4], [4, 5], [5, 6], [6, 10]];
      const got: number[][][] = [[], []];
      for (const [s, e] of parts) {
        const l = m.forward(seq.map((r) => r.slice(s, e)), { cache });
        (l.arraySync() as number[][][]).forEach((rows, b) => got[b]!.push(...rows));
        l.dispose();
      }
      expect(cache.length).toBe(10);
      expect(maxDiff(got, full)).toBeLessThan(1e-4);
      cache.dispose();
      m.dispose();
    });
  }

  it('forward, cached forward and a backward pass leak no tensors', async () => {
    const m = tiny({ dropout: 0.1 });
    await expectNoLeak(() => m.forward([[1, 2, 3]]), 'forward');
    await expectNoLeak(() => {
      const c = m.createCache();
      m.forward([[1, 2, 3]], { cache: c }).dispose();
      const l = m.forward([[4]], { cache: c });
      c.dispose();
      return l;
    }, 'cached forward');
    const x = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const y = tf.tensor2d([[2, 3, 4, 5]], [1, 4], 'int32');
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => m.loss(x, y) as tf.Scalar);
      return [value, ...Object.values(grads)];
    }, 'loss + gradients');
    x.dispose();
    y.dispose();
    m.dispose();
  });

  it('gives typed errors for bad configs, unknown token ids and over-long inputs', () => {
    expect(() => gptConfig({ vocabSize: 10, nEmbd: 30, nHead: 4 })).toThrow(InvalidArgumentError);
    expect(() => gptConfig({ vocabSize: 0 })).toThrow(/vocabSize/);
    expect(() => gptConfig({ vocabSize: 10, dropout: 1 })).toThrow(/dropout/);
    expect(() => gptConfig({ vocabSize: 10, activation: 'swishy' as never })).toThrow(/activation/);
    const m = tiny();
    expect(() => m.forward([[1, 40]])).toThrow(/outside the vocabulary/);
    expect(() => m.forward([[1, -1]])).toThrow(InvalidArgumentError);
    expect(() => m.forward([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => m.forward([Array.from({ length: 25 }, () => 1)])).toThrow(/context of 24/);
    const c = m.createCache();
    m.forward([[1, 2]], { cache: c }).dispose();
    expect(() => m.forward([[1], [2]], { cache: c })).toThrow(ShapeError);
    c.dispose();
    m.dispose();
  });

  it('scores tokens (TokenScorer) as log-softmax of its logits, with a sliding window past the context; metrics perplexity works on it', async () => {
    const m = tiny();
    const seq = [4, 8, 15, 16, 23, 39, 0, 1, 2];
    const [lp] = await m.scoreTokens([seq]);
    const logits = logitsOf(m, [seq])[0]!;
    for (let i = 1; i < seq.length; i++) {
      const row = logits[i - 1]!;
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
      expect(lp![i - 1]).toBeCloseTo(row[seq[i]!]! - lse, 4);
    }
    // 60 tokens through a 24-token context: windows [0,24), [12,36), [24,48), [36,60).
    const long = Array.from({ length: 60 }, (_, i) => (i * 7) % 40);
    const [lpl] = await m.scoreTokens([long]);
    expect(lpl!.length).toBe(59);
    const [w] = await m.scoreTokens([long.slice(36, 60)]);
    expect(lpl![58]).toBeCloseTo(w![22]!, 5);
    const [first] = await m.scoreTokens([long.slice(0, 24)]);
    expect([...lpl!.slice(0, 23)]).toEqual([...first!]);
    const ppl = await perplexity(m, [seq]);
    expect(ppl.value).toBeCloseTo(Math.exp(-lp!.reduce((a, b) => a + b, 0) / lp!.length), 3);
    await expect(m.scoreTokens([[1, 99]])).rejects.toThrow(InvalidArgumentError);
    m.dispose();
  });
});
