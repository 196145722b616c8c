import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { AdamW, MLP, Module, mseLoss } from '@nutshell/nn';
import { LoraConv2d, LoraEmbedding, LoraLinear, LoraModel, quantizeBase } from '@nutshell/finetune-lora';
import { describe, expect, it } from 'vitest';
import { TinyConvNet, TinyGPT2, ids, maxDiff } from './helpers.js';

const img = () => tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 5);

describe('LoRA layers', () => {
  it('at init the adapted model equals the base exactly (Linear, Conv1D, Conv2d, Embedding)', () => {
    const gpt = new TinyGPT2();
    const x = ids();
    const before = gpt.forward(x);
    const lora = new LoraModel(gpt, { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_proj', 'c_fc', 'wte', 'lm_head'] });
    expect(lora.loraLayers().map(([p]) => p)).toContain('transformer.h.1.attn.c_attn');
    expect(gpt.getModule('transformer.wte')).toBeInstanceOf(LoraEmbedding);
    const after = lora.forward(x);
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    const net = new TinyConvNet();
    const xi = img();
    const b2 = net.forward(xi);
    const l2 = new LoraModel(net, { r: 2, target_modules: ['conv1', 'conv2'], init_lora_weights: 'gaussian' });
    expect(net.getModule('conv1')).toBeInstanceOf(LoraConv2d);
    expect(Array.from(l2.forward(xi).dataSync())).toEqual(Array.from(b2.dataSync()));
    tf.dispose([x, before, after, xi, b2]);
  });

  it('trainable parameters = r·(d_in + d_out) per adapted matrix; base frozen', () => {
    const mlp = new MLP({ sizes: [20, 30, 10], seed: 1 });
    const lora = new LoraModel(mlp, { r: 3, target_modules: ['0', '2'] });
    const { trainable, total } = lora.trainableParameters();
    expect(trainable).toBe(3 * (20 + 30) + 3 * (30 + 10));
    expect(total).toBe(20 * 30 + 30 + 30 * 10 + 10 + trainable);
    expect(mlp.getParameter('0.base_layer.weight').trainable).toBe(false);
    expect(mlp.getParameter('0.lora_A.default.weight').shape).toEqual([3, 20]);
    expect(mlp.getParameter('0.lora_B.default.weight').shape).toEqual([30, 3]);
  });

  it('merge and unmerge are exact to float tolerance; merge keeps outputs (LoRA, rsLoRA, DoRA, conv, embedding)', () => {
    const cases: [string, () => { lora: LoraModel; x: Tensor }][] = [
      ['linear+conv1d+embedding', () => ({ lora: new LoraModel(new TinyGPT2(), { r: 4, lora_alpha: 16, target_modules: ['c_attn', 'c_proj', 'c_fc', 'wte'], init_lora_weights: false, fan_in_fan_out: true }), x: ids() })],
      ['rslora', () => ({ lora: new LoraModel(new TinyGPT2(), { r: 4, lora_alpha: 16, use_rslora: true, target_modules: 'all-linear', init_lora_weights: false }), x: ids() })],
      ['dora', () => ({ lora: new LoraModel(new TinyGPT2(), { r: 4, lora_alpha: 8, use_dora: true, target_modules: ['c_attn', 'c_fc', 'lm_head'], init_lora_weights: false }), x: ids() })],
      ['conv2d', () => ({ lora: new LoraModel(new TinyConvNet(), { r: 2, target_modules: ['conv1', 'conv2', 'head'], init_lora_weights: false }), x: img() })],
    ];
    for (const [name, make] of cases) {
      const { lora, x } = make();
      const w0 = lora.loraLayers().map(([, l]) => l.readWeight());
      const y = lora.forward(x);
      const base = lora.withAdaptersDisabled(() => lora.forward(x));
      expect(maxDiff(y, base), name).toBeGreaterThan(1e-3); // the adapters do something
      lora.merge();
      const ym = lora.forward(x);
      expect(maxDiff(ym, y), name).toBeLessThan(1e-5 * Math.max(1, tf.max(tf.abs(y)).dataSync()[0]!));
      lora.unmerge();
      lora.loraLayers().forEach(([, l], i) => {
        const w = l.readWeight();
        // float32 round-off of (W + ΔW) − ΔW, relative to the weight's scale
        expect(maxDiff(w, w0[i]!), name).toBeLessThan(1e-6 * Math.max(1, tf.max(tf.abs(w0[i]!)).dataSync()[0]!));
        w.dispose();
      });
      const yu = lora.forward(x);
      expect(maxDiff(yu, y), name).toBeLessThan(1e-5);
      tf.dispose([x, y, base, ym, yu, ...w0]);
    }
  });

  it('DoRA: magnitude starts at the row norms of W0; output equals the base at init', () => {
    const mlp = new MLP({ sizes: [6, 5, 3], seed: 2 });
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 1);
    const y0 = mlp.forward(x);
    const lora = new LoraModel(mlp, { r: 2, use_dora: true, target_modules: ['0'] });
    const m = mlp.getParameter('0.lora_magnitude_vector.default');
    const w = mlp.getParameter('0.base_layer.weight');
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(w), 1)));
    expect(maxDiff(m, norms)).toBeLessThan(1e-6);
    expect(m.trainable).toBe(true);
    const y = lora.forward(x);
    expect(maxDiff(y, y0)).toBeLessThan(1e-6);
    tf.dispose([x, y0, norms, y]);
  });

  it('target selection: list suffixes, full-match regex, all-linear without the head, typed errors', () => {
    const paths = (cfg: object) => new LoraModel(new TinyGPT2(), cfg as never).loraLayers().map(([p]) => p);
    expect(paths({ target_modules: ['c_proj'] })).toEqual(['transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.attn.c_proj', 'transformer.h.1.mlp.c_proj']);
    expect(paths({ target_modules: '.*\\.attn\\.c_proj' })).toEqual(['transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_proj']);
    // a regex must match the whole path: 'c_proj' alone matches nothing
    expect(() => paths({ target_modules: 'c_proj' })).toThrow(InvalidArgumentError);
    const all = paths({ target_modules: 'all-linear' });
    expect(all).toHaveLength(8);
    expect(all).not.toContain('lm_head');
    expect(() => paths({ target_modules: ['c_attn', 'q_proj'] })).toThrow(/'q_proj' not found/);
    expect(() => paths({ target_modules: ['attn'] })).toThrow(/not supported/);
    expect(() => paths({ r: 0, target_modules: ['c_attn'] })).toThrow(InvalidArgumentError);
    expect(() => paths({ r: 2.5, target_modules: ['c_attn'] })).toThrow(/r must be a positive integer/);
    expect(() => paths({ lora_dropout: 1, target_modules: ['c_attn'] })).toThrow(InvalidArgumentError);
    expect(paths({ target_modules: ['c_attn'], exclude_modules: ['transformer.h.0.attn.c_attn'] })).toEqual(['transformer.h.1.attn.c_attn']);
  });

  it('a head that is not linear (GPT tied to wte) excludes no block linear from all-linear or the 4-bit base', () => {
    // GPT's lm_head shares wte's table and is no Linear: the last block linear must not stand in for it.
    class TiedHead extends Module {
      constructor(readonly table: Tensor) {
        super();
      }
      forward(h: Tensor): Tensor {
        return tf.matMul(h, this.table, false, true);
      }
    }
    const gpt = new TinyGPT2();
    gpt.setModule('lm_head', new TiedHead(gpt.getParameter('transformer.wte.weight'))).dispose();
    const all = new LoraModel(gpt, { target_modules: 'all-linear' }).loraLayers().map(([p]) => p);
    expect(all).toHaveLength(8);
    expect(all).toContain('transformer.h.1.mlp.c_proj');
    const gpt4 = new TinyGPT2();
    gpt4.setModule('lm_head', new TiedHead(gpt4.getParameter('transformer.wte.weight'))).dispose();
    const quantized = quantizeBase(gpt4);
    expect(quantized).toHaveLength(8);
    expect(quantized).toContain('transformer.h.1.mlp.c_proj');
  });

  it('lora_dropout acts on the adapter input in training only', () => {
    const mlp = new MLP({ sizes: [8, 8], seed: 3 });
    const lora = new LoraModel(mlp, { r: 4, lora_dropout: 0.5, target_modules: ['0'], init_lora_weights: false });
    const x = tf.ones([4, 8]);
    const base = lora.withAdaptersDisabled(() => mlp.forward(x));
    mlp.eval();
    const e1 = lora.forward(x);
    const e2 = lora.forward(x);
    expect(maxDiff(e1, e2)).toBe(0);
    mlp.train();
    const t1 = lora.forward(x);
    const t2 = lora.forward(x);
    expect(maxDiff(t1, t2)).toBeGreaterThan(1e-4);
    // the base path is not dropped: the mean output over the batch stays near eval's
    tf.dispose([x, base, e1, e2, t1, t2]);
  });

  it('bias modes none / all / lora_only decide which biases train', () => {
    const trainableBiases = (bias: string) => {
      const mlp = new MLP({ sizes: [4, 4, 4, 2], seed: 1 });
      new LoraModel(mlp, { target_modules: ['0'], bias: bias as never });
      return mlp.namedParameters({ trainableOnly: true }).map(([k]) => k).filter((k) => k.endsWith('bias'));
    };
    expect(trainableBiases('none')).toEqual([]);
    expect(trainableBiases('lora_only')).toEqual(['0.base_layer.bias']);
    expect(trainableBiases('all')).toEqual(['0.base_layer.bias', '2.bias', '4.bias']);
  });

  it('LoRA training moves only the adapter, and lowers the loss', () => {
    const mlp = new MLP({ sizes: [6, 16, 2], seed: 4 });
    const lora = new LoraModel(mlp, { r: 4, lora_alpha: 8, target_modules: ['0', '2'] }, { seed: 1 });
    const x = tf.randomNormal([32, 6], 0, 1, 'float32', 2);
    const y = tf.randomNormal([32, 2], 0, 1, 'float32', 3);
    const w0 = tf.clone(mlp.getParameter('0.base_layer.weight'));
    const opt = new AdamW(mlp, { lr: 0.02, weightDecay: 0 });
    const loss = () => mseLoss(lora.forward(x), y);
    const first = opt.minimize(loss);
    let last = first;
    for (let i = 0; i < 60; i++) last = opt.minimize(loss);
    expect(last).toBeLessThan(first * 0.8);
    expect(maxDiff(w0, mlp.getParameter('0.base_layer.weight'))).toBe(0);
    opt.dispose();
    tf.dispose([x, y, w0]);
  });

  it('forward, merge/unmerge and a training step leak no tensors', async () => {
    const gpt = new TinyGPT2();
    const lora = new LoraModel(gpt, { r: 2, use_dora: false, target_modules: 'all-linear', lora_dropout: 0.1, init_lora_weights: false });
    const x = ids();
    await expectNoLeak(() => lora.forward(x));
    await expectNoLeak(() => {
      lora.merge();
      lora.unmerge();
    });
    const dora = new LoraModel(new MLP({ sizes: [4, 4], seed: 1 }), { target_modules: ['0'], use_dora: true, init_lora_weights: false });
    const xi = tf.ones([2, 4]);
    const opt = new AdamW(dora.model, { lr: 0.01 });
    opt.minimize(() => tf.sum(dora.forward(xi)));
    await expectNoLeak(() => opt.minimize(() => tf.sum(dora.forward(xi))));
    await expectNoLeak(() => {
      dora.merge();
      dora.unmerge();
    });
    opt.dispose();
    tf.dispose([x, xi]);
  });

  it('LoraLinear refuses unknown bases', () => {
    expect(() => new LoraLinear(new TinyConvNet(), { fan_in_fan_out: false })).toThrow(InvalidArgumentError);
  });
});
