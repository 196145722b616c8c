import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, InvalidArgumentError, Rng, saveSafetensors, tensor, tf } from '@nutshell/core';
import { dequantizeGgml, dequantizeSafetensors, exportCommand, parseGguf, quantizeCommand, RecipeError } from '@nutshell/quantize';
import plugin from '@nutshell/quantize/plugin';

const E = 64, L = 2, V = 96, P = 32;
function writeTinyGpt2(dir: string): Record<string, Float32Array> {
  const r = new Rng(1);
  const vals: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  const add = (name: string, shape: number[]) => {
    vals[name] = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal() * 0.05);
    shapes[name] = shape;
  };
  add('wte.weight', [V, E]);
  add('wpe.weight', [P, E]);
  for (let i = 0; i < L; i++) {
    add(`h.${i}.ln_1.weight`, [E]); add(`h.${i}.ln_1.bias`, [E]);
    add(`h.${i}.attn.c_attn.weight`, [E, 3 * E]); add(`h.${i}.attn.c_attn.bias`, [3 * E]);
    add(`h.${i}.attn.c_proj.weight`, [E, E]); add(`h.${i}.attn.c_proj.bias`, [E]);
    add(`h.${i}.ln_2.weight`, [E]); add(`h.${i}.ln_2.bias`, [E]);
    add(`h.${i}.mlp.c_fc.weight`, [E, 4 * E]); add(`h.${i}.mlp.c_fc.bias`, [4 * E]);
    add(`h.${i}.mlp.c_proj.weight`, [4 * E, E]); add(`h.${i}.mlp.c_proj.bias`, [E]);
    add(`h.${i}.attn.bias`, [1, 1, P, P]);
  }
  add('ln_f.weight', [E]); add('ln_f.bias', [E]);
  const ts = Object.fromEntries(Object.entries(vals).map(([k, v]) => [k, tensor(v, shapes[k])]));
  writeFileSync(join(dir, 'model.safetensors'), saveSafetensors(ts));
  tf.dispose(Object.values(ts));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: L, n_head: 4, n_embd: E, n_positions: P, vocab_size: V, layer_norm_epsilon: 1e-5 }));
  return vals;
}

const run = (cmd: typeof exportCommand, options: Record<string, unknown>) => {
  const lines: string[] = [];
  return Promise.resolve(cmd.run({ args: [], options: options as never, json: false, kit: {} as never, print: (l) => lines.push(l) })).then((r) => ({ r, lines }));
};

describe('CLI commands', () => {
  it('the plugin mounts quantize and export', () => {
    const added: string[] = [];
    plugin.register({ plugin: 'x', backend: undefined, add: (kind: string, name: string) => { added.push(`${kind}:${name}`); } } as never);
    expect(added).toContain('commands:quantize');
    expect(added).toContain('commands:export');
  });

  it('export --format gguf maps HF GPT-2 names to llama.cpp gpt2 names, transposes Conv1D, writes metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nq-gpt2-'));
    const vals = writeTinyGpt2(dir);
    for (const quant of ['f32', 'q8_0', 'q4_k']) {
      const out = join(dir, `m-${quant}.gguf`);
      await run(exportCommand, { format: 'gguf', quant, model: dir, out });
      const g = parseGguf(new Uint8Array(readFileSync(out)));
      const md = (k: string) => (g.metadata[k] as { value: unknown }).value;
      expect(md('general.architecture')).toBe('gpt2');
      expect(md('gpt2.block_count')).toBe(L);
      expect(md('gpt2.embedding_length')).toBe(E);
      expect(md('gpt2.feed_forward_length')).toBe(4 * E);
      expect(md('gpt2.attention.head_count')).toBe(4);
      expect(md('gpt2.context_length')).toBe(P);
      const byName = Object.fromEntries(g.tensors.map((t) => [t.name, t]));
      expect(Object.keys(byName).sort()).toEqual([
        ...[0, 1].flatMap((i) => ['attn_norm.bias', 'attn_norm.weight', 'attn_output.bias', 'attn_output.weight', 'attn_qkv.bias', 'attn_qkv.weight', 'ffn_down.bias', 'ffn_down.weight', 'ffn_norm.bias', 'ffn_norm.weight', 'ffn_up.bias', 'ffn_up.weight'].map((s) => `blk.${i}.${s}`)),
        'output.weight', 'output_norm.bias', 'output_norm.weight', 'position_embd.weight', 'token_embd.weight',
      ].sort());
      const qkv = byName['blk.1.attn_qkv.weight']!;
      expect(qkv.shape).toEqual([3 * E, E]);
      expect(byName['blk.0.attn_norm.weight']!.type).toBe('F32');
      const want = quant === 'f32' ? 'F32' : quant === 'q8_0' ? 'Q8_0' : 'Q8_0'; // 64-wide rows: Q4_K falls back to Q8_0
      expect(qkv.type).toBe(want);
      const deq = dequantizeGgml(qkv.type, qkv.data, 3 * E * E);
      // Element [o, i] of the GGUF tensor is element [i, o] of the HF Conv1D weight.
      const src = vals['h.1.attn.c_attn.weight']!;
      let maxErr = 0;
      for (let o = 0; o < 3 * E; o++) for (let i = 0; i < E; i++) maxErr = Math.max(maxErr, Math.abs(deq[o * E + i]! - src[i * 3 * E + o]!));
      expect(maxErr).toBeLessThan(quant === 'f32' ? 1e-9 : 0.01);
      expect(byName['output.weight']!.shape).toEqual([V, E]);
    }
  });

  it('export gives typed errors for bad inputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nq-bad-'));
    await expect(run(exportCommand, { format: 'gguf', quant: 'q3_k', model: dir, out: join(dir, 'x.gguf') })).rejects.toThrow(InvalidArgumentError);
    await expect(run(exportCommand, { format: 'gguf', quant: 'f16', model: dir, out: join(dir, 'x.gguf') })).rejects.toThrow(/model.safetensors/);
    const t = tensor([1, 2]);
    writeFileSync(join(dir, 'model.safetensors'), saveSafetensors({ 'foo.weight': t }));
    t.dispose();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ n_layer: 1, n_head: 1, n_embd: 2 }));
    await expect(run(exportCommand, { format: 'gguf', quant: 'f16', model: dir, out: join(dir, 'x.gguf') })).rejects.toThrow(FormatError);
    writeFileSync(join(dir, 'config.json'), '{oops');
    await expect(run(exportCommand, { format: 'gguf', quant: 'f16', model: dir, out: join(dir, 'x.gguf') })).rejects.toThrow(FormatError);
  });

  it('quantize --recipe int8|int4|nf4 writes packed safetensors + scales and a size report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nq-q-'));
    const vals = writeTinyGpt2(dir);
    for (const [recipe, maxRatio] of [['int8', 0.27], ['int4', 0.16], ['nf4', 0.14]] as const) {
      const out = join(dir, `out-${recipe}`);
      const { r, lines } = await run(quantizeCommand, { model: dir, recipe, out, skip: ['attn\\.bias$'] });
      const rep = r as { weightRatio: number; tensors: { name: string }[] };
      expect(rep.weightRatio).toBeLessThan(maxRatio);
      expect(rep.tensors.map((t) => t.name)).toContain('h.0.attn.c_attn.weight');
      expect(lines.at(-1)).toMatch(/weights: \d+ → \d+ bytes/);
      expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).n_layer).toBe(L);
      const deq = dequantizeSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
      const w = deq['h.0.mlp.c_fc.weight']!;
      expect(w.shape).toEqual([E, 4 * E]);
      const d = w.dataSync();
      const src = vals['h.0.mlp.c_fc.weight']!;
      let maxErr = 0;
      for (let i = 0; i < d.length; i++) maxErr = Math.max(maxErr, Math.abs(d[i]! - src[i]!));
      expect(maxErr).toBeLessThan(recipe === 'int8' ? 0.002 : 0.05);
      expect(deq['h.0.attn.bias']!.shape).toEqual([1, 1, P, P]);
      tf.dispose(Object.values(deq));
    }
    await expect(run(quantizeCommand, { model: dir, recipe: 'int3', out: join(dir, 'o') })).rejects.toThrow(RecipeError);
  });
});
