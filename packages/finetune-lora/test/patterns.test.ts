import { InvalidArgumentError, saveSafetensors, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { LoraLinear, LoraModel, layerConfig, loraConfig, mergeAdapterIntoWeights, parsePeftFiles, patternKey, toPeftFiles, loadPeftFiles } from '@nutshell/finetune-lora';
import { describe, expect, it } from 'vitest';
import { TinyGPT2, ids, maxDiff } from './helpers.js';

/** adapter_config.json as PEFT 0.13 writes it (every key, sorted), with per-module ranks and alphas. */
const PEFT_CONFIG = {
  alpha_pattern: { 'h\\.0\\.attn\\.c_attn': 32 },
  auto_mapping: null,
  base_model_name_or_path: null,
  bias: 'none',
  fan_in_fan_out: true,
  inference_mode: true,
  init_lora_weights: true,
  layer_replication: null,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 8,
  lora_dropout: 0.0,
  megatron_config: null,
  megatron_core: 'megatron.core',
  modules_to_save: null,
  peft_type: 'LORA',
  r: 4,
  // PEFT users write unescaped dots; 'c_fc' is a plain suffix, 'h.1.attn.c_attn' a longer one
  rank_pattern: { c_fc: 2, 'h.1.attn.c_attn': 6 },
  revision: null,
  target_modules: ['c_attn', 'c_fc'],
  task_type: 'CAUSAL_LM',
  use_dora: false,
  use_rslora: false,
};

/** Random PEFT-keyed tensors for TinyGPT2(50, 16, 2) under PEFT_CONFIG's ranks. */
function peftTensors(): Record<string, Tensor> {
  const d = 16;
  const out: Record<string, Tensor> = {};
  const mods: [string, number, number, number][] = [
    ['transformer.h.0.attn.c_attn', d, 3 * d, 4],
    ['transformer.h.1.attn.c_attn', d, 3 * d, 6],
    ['transformer.h.0.mlp.c_fc', d, 4 * d, 2],
    ['transformer.h.1.mlp.c_fc', d, 4 * d, 2],
  ];
  mods.forEach(([p, din, dout, r], i) => {
    out[`base_model.model.${p}.lora_A.weight`] = tf.randomNormal([r, din], 0, 0.3, 'float32', 10 + i);
    out[`base_model.model.${p}.lora_B.weight`] = tf.randomNormal([dout, r], 0, 0.3, 'float32', 20 + i);
  });
  return out;
}

describe('rank_pattern / alpha_pattern', () => {
  it('resolves keys as PEFT does: (.*\\.)?(key)$ from the start, first key in insertion order', () => {
    const p = 'transformer.h.0.attn.c_attn';
    expect(patternKey(['c_attn'], p)).toBe('c_attn');
    expect(patternKey(['attn'], p)).toBeNull(); // not a whole dotted component
    expect(patternKey(['c_at'], p)).toBeNull(); // must reach the end
    expect(patternKey(['h\\.1\\.attn\\.c_attn'], p)).toBeNull();
    expect(patternKey(['h\\.\\d+\\.attn\\.c_(attn|proj)'], p)).toBe('h\\.\\d+\\.attn\\.c_(attn|proj)');
    expect(patternKey(['transformer.h.0.attn.c_attn'], p)).toBe('transformer.h.0.attn.c_attn'); // the full path
    expect(patternKey(['ransformer.h.0.attn.c_attn'], p)).toBeNull();
    expect(patternKey(['lm_head'], 'lm_head')).toBe('lm_head');
    expect(patternKey(['c_attn', 'h\\.0\\.attn\\.c_attn'], p)).toBe('c_attn');
    expect(patternKey(['h\\.0\\.attn\\.c_attn', 'c_attn'], p)).toBe('h\\.0\\.attn\\.c_attn');
    const c = loraConfig({ r: 4, lora_alpha: 8, target_modules: ['c_attn'], rank_pattern: { 'h.1.attn.c_attn': 6 }, alpha_pattern: { c_attn: 3 } });
    expect(layerConfig(c, p)).toMatchObject({ r: 4, lora_alpha: 3 });
    expect(layerConfig(c, 'transformer.h.1.attn.c_attn')).toMatchObject({ r: 6, lora_alpha: 3 });
    expect(layerConfig(c, 'transformer.h.1.mlp.c_fc')).toBe(c);
  });

  it('bad pattern values are typed errors', () => {
    const t = { target_modules: ['c_attn'] };
    expect(() => loraConfig({ ...t, rank_pattern: { c_attn: 0 } })).toThrow(InvalidArgumentError);
    expect(() => loraConfig({ ...t, rank_pattern: { c_attn: 2.5 } })).toThrow(InvalidArgumentError);
    expect(() => loraConfig({ ...t, alpha_pattern: { c_attn: -1 } })).toThrow(InvalidArgumentError);
    expect(() => loraConfig({ ...t, rank_pattern: { '(': 2 } })).toThrow(/not a valid regex/);
    expect(() => loraConfig({ ...t, rank_pattern: [2] as never })).toThrow(InvalidArgumentError);
  });

  it('per-module ranks and scalings; trainable params = Σ r_k·(d_in + d_out)', () => {
    const gpt = new TinyGPT2();
    const lora = new LoraModel(gpt, { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'], rank_pattern: { 'h\\.1\\..*': 2 }, alpha_pattern: { c_fc: 1 } });
    const layer = (p: string) => gpt.getModule(p) as LoraLinear;
    expect(layer('transformer.h.0.attn.c_attn').tensorsOf('default').A.shape).toEqual([4, 16]);
    expect(layer('transformer.h.1.attn.c_attn').tensorsOf('default').A.shape).toEqual([2, 16]);
    expect(layer('transformer.h.1.mlp.c_fc').tensorsOf('default').B.shape).toEqual([64, 2]);
    expect(layer('transformer.h.0.attn.c_attn').settings.get('default')!.scaling).toBe(2);
    expect(layer('transformer.h.1.attn.c_attn').settings.get('default')!.scaling).toBe(4);
    expect(layer('transformer.h.0.mlp.c_fc').settings.get('default')!.scaling).toBe(0.25);
    expect(layer('transformer.h.1.mlp.c_fc').settings.get('default')!.scaling).toBe(0.5);
    expect(lora.trainableParameters().trainable).toBe(4 * (16 + 48) + 2 * (16 + 48) + 4 * (16 + 64) + 2 * (16 + 64));
    expect(() => lora.addWeightedAdapter(['default'], [1], 'w')).toThrow(/rank_pattern/);
  });

  it('loads a PEFT-layout adapter_config.json with patterns, merges with per-module scaling, saves it back unchanged', () => {
    const tensors = peftTensors();
    const files = { config: JSON.stringify(PEFT_CONFIG, null, 2), weights: saveSafetensors(tensors, { metadata: { format: 'pt' } }) };
    const gpt = new TinyGPT2();
    const w0 = tf.clone(gpt.getParameter('transformer.h.0.attn.c_attn.weight')); // Conv1D [in, out]
    const w1 = tf.clone(gpt.getParameter('transformer.h.1.mlp.c_fc.weight'));
    const base = Object.fromEntries(Object.entries(gpt.stateDict()).map(([k, v]) => [k, tf.clone(v)]));
    const lora = new LoraModel(gpt, null);
    const cfg = loadPeftFiles(lora, files, 'default');
    expect(cfg.rank_pattern).toEqual({ c_fc: 2, 'h.1.attn.c_attn': 6 });
    const x = ids();
    const y = lora.forward(x);
    // independent reference: W + (α_k/r_k)·(B A)ᵀ with h.0 c_attn α = 32, r = 4 and h.1 c_fc α = 8, r = 2
    const key = (p: string, ab: string) => tensors[`base_model.model.transformer.h.${p}.lora_${ab}.weight`]!;
    const ref0 = tf.tidy(() => tf.add(w0, tf.transpose(tf.mul(tf.matMul(key('0.attn.c_attn', 'B'), key('0.attn.c_attn', 'A')), 32 / 4))));
    const ref1 = tf.tidy(() => tf.add(w1, tf.transpose(tf.mul(tf.matMul(key('1.mlp.c_fc', 'B'), key('1.mlp.c_fc', 'A')), 8 / 2))));
    lora.merge();
    expect(maxDiff(gpt.getParameter('transformer.h.0.attn.c_attn.base_layer.weight'), ref0)).toBeLessThan(1e-5);
    expect(maxDiff(gpt.getParameter('transformer.h.1.mlp.c_fc.base_layer.weight'), ref1)).toBeLessThan(1e-5);
    // the by-name merge (CLI) resolves the same patterns
    const { weights } = mergeAdapterIntoWeights(base, cfg, tensors);
    expect(maxDiff(weights['transformer.h.0.attn.c_attn.weight']!, ref0)).toBeLessThan(1e-5);
    expect(maxDiff(weights['transformer.h.1.mlp.c_fc.weight']!, ref1)).toBeLessThan(1e-5);
    lora.unmerge();
    // saved config keeps the patterns (same JSON values as PEFT's for every key we write)
    const saved = JSON.parse(toPeftFiles(lora).config);
    for (const [k, v] of Object.entries(saved)) if (k in PEFT_CONFIG) expect(v, k).toEqual(PEFT_CONFIG[k as keyof typeof PEFT_CONFIG]);
    const back = parsePeftFiles(toPeftFiles(lora));
    const gpt2 = new TinyGPT2();
    const lora2 = new LoraModel(gpt2, null);
    lora2.loadAdapterTensors('default', back.config, back.tensors);
    const y2 = lora2.forward(x);
    expect(maxDiff(y2, y)).toBe(0);
    tf.dispose([x, y, y2, w0, w1, ref0, ref1, ...Object.values(tensors), ...Object.values(base), ...Object.values(weights), ...Object.values(back.tensors)]);
  });

  it('adding and deleting a patterned adapter leaks nothing', async () => {
    const gpt = new TinyGPT2();
    const lora = new LoraModel(gpt, null);
    await expectNoLeak(() => {
      lora.addAdapter('p', { r: 3, target_modules: ['c_attn', 'c_proj'], rank_pattern: { c_proj: 1 } });
      lora.setAdapter('p');
      const x = ids();
      tf.dispose([lora.forward(x), x]);
      lora.deleteAdapter('p');
    });
  });
});
