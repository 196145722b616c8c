import { InvalidArgumentError, ShapeError, tf, loadSafetensors, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  BatchNorm1d, Dropout, Linear, Module, ModuleList, Sequential, StateDictError, loadSafetensorsInto, stateDictToSafetensors,
  saveModule, loadModule, valueAndGrads, type Parameter,
} from '@nutshell/nn';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

class Attn extends Module {
  readonly qkv = this.registerModule('qkv', new Linear(4, 12, { seed: 1 }));
  readonly proj = this.registerModule('proj', new Linear(4, 4, { bias: false, seed: 2 }));
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.proj.forward(tf.slice(this.qkv.forward(x), [0, 0], [-1, 4])));
  }
}
class Block extends Module {
  readonly attn = this.registerModule('attn', new Attn());
  readonly norm = this.registerModule('norm', new BatchNorm1d(4));
  readonly drop = this.registerModule('drop', new Dropout(0.1, { seed: 5 }));
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.drop.forward(this.norm.forward(this.attn.forward(x))));
  }
}
class Net extends Module {
  readonly blocks = this.registerModule('blocks', new ModuleList([new Block(), new Block()]));
  readonly scale: Parameter = this.registerParameter('scale', tf.ones([1]));
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h);
      return tf.mul(h, this.scale);
    });
  }
}

describe('Module', () => {
  it('names parameters and buffers by dotted path, PyTorch style', () => {
    const net = new Net();
    const names = net.namedParameters().map(([n]) => n);
    expect(names).toEqual([
      'scale',
      'blocks.0.attn.qkv.weight', 'blocks.0.attn.qkv.bias', 'blocks.0.attn.proj.weight', 'blocks.0.norm.weight', 'blocks.0.norm.bias',
      'blocks.1.attn.qkv.weight', 'blocks.1.attn.qkv.bias', 'blocks.1.attn.proj.weight', 'blocks.1.norm.weight', 'blocks.1.norm.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toContain('blocks.1.norm.running_var');
    expect(net.getParameter('blocks.0.attn.qkv.weight').shape).toEqual([12, 4]);
    expect(net.getModule('blocks.1.attn')).toBeInstanceOf(Attn);
    expect(() => net.getModule('blocks.7')).toThrow(/no submodule 'blocks.7'/);
    expect(net.numParameters()).toBe(1 + 2 * (48 + 12 + 16 + 8));
    expect(Object.keys(net.stateDict())).toHaveLength(11 + 6);
  });

  it('train/eval propagate; requiresGrad freezes; apply visits children first', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.getModule('blocks.0.drop').training).toBe(true);
    net.getModule('blocks.0').requiresGrad(false);
    expect(net.numParameters({ trainableOnly: true })).toBe(1 + 48 + 12 + 16 + 8);
    const order: string[] = [];
    net.apply((_m, path) => order.push(path));
    expect(order.at(-1)).toBe('');
    expect(order.indexOf('blocks.0.attn.qkv')).toBeLessThan(order.indexOf('blocks.0.attn'));
    // frozen parameters get no gradients
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 1);
    const { value, grads } = valueAndGrads(() => tf.sum(net.forward(x)), net);
    value.dispose();
    expect(grads.has(net.getParameter('blocks.0.attn.qkv.weight'))).toBe(false);
    expect(grads.has(net.getParameter('blocks.1.attn.qkv.weight'))).toBe(true);
  });

  it('loadStateDict round-trips and reports missing, unexpected and mis-shaped keys', () => {
    const a = new Net();
    const b = new Net();
    tf.tidy(() => a.getParameter('blocks.1.attn.qkv.bias').assign(tf.fill([12], 3)));
    const sd = a.stateDict({ clone: true });
    const rep = b.loadStateDict(sd);
    expect(rep.missingKeys).toEqual([]);
    expect(rep.loadedKeys).toHaveLength(17);
    expect(Array.from(b.getParameter('blocks.1.attn.qkv.bias').dataSync())).toEqual(Array(12).fill(3));

    const bad: Record<string, Tensor> = { ...sd, 'blocks.0.extra': tf.zeros([1]), 'blocks.0.attn.qkv.weight': tf.zeros([4, 4]) };
    delete bad.scale;
    try {
      b.loadStateDict(bad);
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(StateDictError);
      const r = (e as StateDictError).report;
      expect(r.missingKeys).toEqual(['scale', 'blocks.0.attn.qkv.weight'].filter((k) => k === 'scale'));
      expect(r.unexpectedKeys).toEqual(['blocks.0.extra']);
      expect(r.mismatchedKeys).toEqual([{ key: 'blocks.0.attn.qkv.weight', expected: [12, 4], got: [4, 4] }]);
      expect((e as Error).message).toMatch(/missing keys: scale; unexpected keys: blocks\.0\.extra; shape mismatches: blocks\.0\.attn\.qkv\.weight expected \[12, 4\], got \[4, 4\]/);
    }
    const loose = b.loadStateDict(bad, { strict: false });
    expect(loose.missingKeys).toEqual(['scale']);
    expect(loose.loadedKeys).not.toContain('blocks.0.attn.qkv.weight');
    Object.values(sd).forEach((t) => t.dispose());
  });

  it('stateDict ↔ safetensors round trip (in memory and on disk, written atomically)', async () => {
    const a = new Net();
    const b = new Net();
    const bytes = stateDictToSafetensors(a, { note: 'hi' });
    const { tensors, metadata } = loadSafetensors(bytes);
    expect(Object.keys(tensors)).toContain('blocks.0.norm.running_mean');
    expect(metadata).toMatchObject({ note: 'hi', format: 'pt' });
    Object.values(tensors).forEach((t) => t.dispose());
    await expectNoLeak(() => loadSafetensorsInto(b, bytes));
    for (const [k, v] of a.namedParameters()) expect(Array.from(b.getParameter(k).dataSync())).toEqual(Array.from(v.dataSync()));

    const dir = mkdtempSync(join(tmpdir(), 'nn-save-'));
    await saveModule(join(dir, 'm.safetensors'), a);
    expect(readdirSync(dir)).toEqual(['m.safetensors']);
    const c = new Net();
    const rep = await loadModule(join(dir, 'm.safetensors'), c);
    expect(rep.loadedKeys).toHaveLength(17);
    expect(Array.from(c.getParameter('scale').dataSync())).toEqual([1]);
  });

  it('setModule swaps a submodule by path; bad names are rejected', () => {
    const net = new Net();
    const old = net.setModule('blocks.0.attn.proj', new Linear(4, 4, { seed: 9 }));
    expect(old).toBeInstanceOf(Linear);
    expect(net.namedParameters().map(([n]) => n)).toContain('blocks.0.attn.proj.bias');
    class Bad extends Module {
      constructor() { super(); this.registerParameter('a.b', tf.zeros([1])); }
      forward() { return null; }
    }
    expect(() => new Bad()).toThrow(InvalidArgumentError);
  });

  it('forward, backward and dispose leak nothing', async () => {
    const net = new Net();
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 2);
    await expectNoLeak(() => net.forward(x));
    await expectNoLeak(() => {
      const { value, grads } = valueAndGrads(() => tf.sum(net.forward(x)), net);
      return [value, [...grads.values()]];
    });
    await expectNoLeak(() => {
      const m = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
      m.dispose();
    });
  });

  it('valueAndGrads needs a scalar loss', () => {
    const lin = new Linear(2, 2, { seed: 1 });
    expect(() => valueAndGrads(() => lin.forward(tf.ones([1, 2])), lin)).toThrow(ShapeError);
  });

  it('setModule re-points the fields a parent calls its children through', async () => {
    class Net extends Module {
      fc: Linear;
      constructor() {
        super();
        this.fc = this.registerModule('fc', new Linear(2, 1, { seed: 1 }));
      }
      forward(x: Tensor): Tensor {
        return this.fc.forward(x);
      }
    }
    const net = new Net();
    const replacement = new Linear(2, 1, { seed: 2 });
    const old = net.setModule('fc', replacement);
    expect(net.fc).toBe(replacement);
    const x = tf.tensor([[1, 2]]);
    const got = net.forward(x);
    const want = replacement.forward(x);
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
    tf.dispose([x, got, want]);
    old.dispose();
    net.dispose();
  });
});

