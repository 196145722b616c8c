import { ShapeError, DTypeError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, GroupNorm,
  InstanceNorm, LayerNorm, Linear, MaxPool2d, RMSNorm, Sequential, Upsample, ReLU, valueAndGrads, type Module,
} from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { T, checkGradFD, expectClose, fixture, nchw2nhwc, nhwc2nchw, weighted } from './helpers.js';

const L = fixture('layers.json');

function load(m: Module, dict: Record<string, Tensor>): void {
  m.loadStateDict(dict, { strict: false });
  Object.values(dict).forEach((t) => t.dispose());
}

/** Forward + backprop of a PyTorch upstream gradient; returns grads w.r.t. x and named params. */
function backprop(m: Module, x: Tensor, up: Tensor, names: string[]) {
  const xv = tf.variable(x);
  const params = [xv, ...names.map((n) => m.getParameter(n))];
  const { value, grads } = valueAndGrads(() => weighted(m.forward(xv), up), params);
  value.dispose();
  const out = { gx: grads.get(xv)!, ...Object.fromEntries(names.map((n) => [n, grads.get(m.getParameter(n))!])) };
  xv.dispose();
  return out as Record<string, Tensor>;
}

describe('Linear', () => {
  it('matches PyTorch forward and backward', () => {
    const f = L.linear;
    const lin = new Linear(4, 5);
    load(lin, { weight: T(f.weight), bias: T(f.bias) });
    const x = T(f.x);
    expectClose(lin.forward(x), f.y);
    const g = backprop(lin, x, T(f.up), ['weight', 'bias']);
    expectClose(g.gx!, f.gx);
    expectClose(g.weight!, f.gw);
    expectClose(g.bias!, f.gb);
    expect(lin.weight.shape).toEqual([5, 4]);
  });

  it('handles leading dims, rejects wrong shapes with ShapeError, and does not leak', async () => {
    const lin = new Linear(3, 2, { seed: 1 });
    const x = tf.ones([2, 4, 3]);
    expect(lin.forward(x).shape).toEqual([2, 4, 2]);
    expect(() => lin.forward(tf.ones([2, 4]))).toThrow(ShapeError);
    expect(() => lin.forward(tf.ones([2, 4]))).toThrow(/expected \[\.\.\., 3\], got shape \[2, 4\]/);
    await expectNoLeak(() => lin.forward(x));
    await expectNoLeak(() => {
      const { value, grads } = valueAndGrads(() => tf.sum(lin.forward(x)), lin);
      return [value, [...grads.values()]];
    });
  });

  it('default init is U(±1/√fan_in) and seeded', () => {
    const a = new Linear(50, 40, { seed: 7 });
    const b = new Linear(50, 40, { seed: 7 });
    const c = new Linear(50, 40, { seed: 8 });
    const w = a.weight.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(50));
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 / Math.sqrt(50));
    expect(Array.from(b.weight.dataSync())).toEqual(Array.from(w));
    expect(Array.from(c.weight.dataSync())).not.toEqual(Array.from(w));
    expect(Array.from(a.bias!.dataSync())).not.toEqual(Array.from(w.slice(0, 40)));
  });

  it('gradient matches finite differences', () => {
    const lin = new Linear(3, 2, { seed: 3 });
    const up = tf.tensor([[0.3, -1.2], [0.7, 0.1]]);
    checkGradFD((x) => weighted(lin.forward(x), up), tf.tensor([[0.5, -1, 2], [1.5, 0.2, -0.7]]));
  });
});

describe('Conv2d', () => {
  it.each(L.conv2d.map((c: any, i: number) => [i, c]))('case %i matches PyTorch (NHWC and NCHW)', (_i, f: any) => {
    const c = f.cfg;
    for (const dataFormat of ['NHWC', 'NCHW'] as const) {
      const conv = new Conv2d(c.cin, c.cout, c.k, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, dataFormat });
      load(conv, { weight: T(f.weight), bias: T(f.bias) });
      const conv_ = (t: Tensor) => (dataFormat === 'NHWC' ? nchw2nhwc(t) : t);
      const back = (t: Tensor) => (dataFormat === 'NHWC' ? nhwc2nchw(t) : t);
      const x = conv_(T(f.x));
      expectClose(back(conv.forward(x)), f.y, { atol: 1e-4 });
      const g = backprop(conv, x, conv_(T(f.up)), ['weight', 'bias']);
      expectClose(back(g.gx!), f.gx, { atol: 1e-4 });
      expectClose(g.weight!, f.gw, { atol: 1e-4 });
      expectClose(g.bias!, f.gb, { atol: 1e-4 });
    }
  });

  it("'same' padding keeps the size; wrong channels is a ShapeError naming both", async () => {
    const conv = new Conv2d(2, 3, 4, { padding: 'same', seed: 1 });
    const x = tf.ones([1, 5, 6, 2]);
    expect(conv.forward(x).shape).toEqual([1, 5, 6, 3]);
    expect(() => conv.forward(tf.ones([1, 5, 6, 3]))).toThrow(/Conv2d: input: expected \[N, H, W, 2\], got shape \[1, 5, 6, 3\]/);
    await expectNoLeak(() => conv.forward(x));
    await expectNoLeak(() => {
      const { value, grads } = valueAndGrads(() => tf.sum(conv.forward(x)), conv);
      return [value, [...grads.values()]];
    });
  });
});

describe('Conv1d and ConvTranspose2d', () => {
  it('Conv1d matches PyTorch (NCL and NLC)', () => {
    const f = L.conv1d;
    for (const dataFormat of ['NCL', 'NLC'] as const) {
      const conv = new Conv1d(3, 4, 3, { stride: 2, padding: 1, dataFormat });
      load(conv, { weight: T(f.weight), bias: T(f.bias) });
      const tr = (t: Tensor) => (dataFormat === 'NLC' ? tf.transpose(t, [0, 2, 1]) : t);
      const g = backprop(conv, tr(T(f.x)), tr(T(f.up)), ['weight', 'bias']);
      expectClose(tr(conv.forward(tr(T(f.x)))), f.y);
      expectClose(tr(g.gx!), f.gx);
      expectClose(g.weight!, f.gw);
    }
  });

  it.each(L.convTranspose2d.map((c: any, i: number) => [i, c]))('ConvTranspose2d case %i matches PyTorch', (_i, f: any) => {
    const c = f.cfg;
    const ct = new ConvTranspose2d(c.cin, c.cout, c.k, { stride: c.stride, padding: c.padding, outputPadding: c.output_padding });
    load(ct, { weight: T(f.weight), bias: T(f.bias) });
    const x = nchw2nhwc(T(f.x));
    expectClose(nhwc2nchw(ct.forward(x)), f.y, { atol: 1e-4 });
    const g = backprop(ct, x, nchw2nhwc(T(f.up)), ['weight', 'bias']);
    expectClose(nhwc2nchw(g.gx!), f.gx, { atol: 1e-4 });
    expectClose(g.weight!, f.gw, { atol: 1e-4 });
    expectClose(g.bias!, f.gb, { atol: 1e-4 });
  });
});

describe('pooling and resizing', () => {
  const makers: Record<string, () => Module> = {
    max_k3_s2_p1: () => new MaxPool2d(3, { stride: 2, padding: 1 }),
    max_k2: () => new MaxPool2d(2),
    avg_k3_s2_p1: () => new AvgPool2d(3, { stride: 2, padding: 1 }),
    avg_k3_s2_p1_exclude: () => new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
    adaptive_3x2: () => new AdaptiveAvgPool2d([3, 2]),
    adaptive_1x1: () => new AdaptiveAvgPool2d(1),
    nearest_x2: () => new Upsample({ scaleFactor: 2 }),
    nearest_size_10x9: () => new Upsample({ size: [10, 9] }),
    bilinear_size_10x9: () => new Upsample({ size: [10, 9], mode: 'bilinear' }),
    bilinear_x2_align: () => new Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: true }),
  };
  it.each(Object.keys(makers))('%s matches PyTorch forward and backward', async (name) => {
    const f = L.pool.cases[name];
    const m = makers[name]!();
    const x = nchw2nhwc(T(L.pool.x));
    expectClose(nhwc2nchw(m.forward(x)), f.y, { atol: 1e-5 });
    const gx = tf.grad((t: Tensor) => weighted(m.forward(t), nchw2nhwc(T(f.up))))(x);
    expectClose(nhwc2nchw(gx), f.gx, { atol: 1e-5 });
    await expectNoLeak(() => m.forward(x));
  });
});

describe('normalization', () => {
  it('LayerNorm matches PyTorch forward and backward', () => {
    const f = L.layerNorm;
    const ln = new LayerNorm(4);
    load(ln, { weight: T(f.weight), bias: T(f.bias) });
    const x = T(f.x);
    expectClose(ln.forward(x), f.y, { atol: 1e-5 });
    const g = backprop(ln, x, T(f.up), ['weight', 'bias']);
    expectClose(g.gx!, f.gx, { atol: 1e-4 });
    expectClose(g.weight!, f.gw, { atol: 1e-4 });
    expectClose(g.bias!, f.gb, { atol: 1e-4 });
  });

  it('GroupNorm matches PyTorch (channels first and last)', () => {
    const f = L.groupNorm;
    for (const channels of ['channelsFirst', 'channelsLast'] as const) {
      const gn = new GroupNorm(2, 4, { channels });
      load(gn, { weight: T(f.weight), bias: T(f.bias) });
      const tr = (t: Tensor) => (channels === 'channelsLast' ? nchw2nhwc(t) : t);
      const trb = (t: Tensor) => (channels === 'channelsLast' ? nhwc2nchw(t) : t);
      expectClose(trb(gn.forward(tr(T(f.x)))), f.y, { atol: 1e-5 });
      const g = backprop(gn, tr(T(f.x)), tr(T(f.up)), ['weight', 'bias']);
      expectClose(trb(g.gx!), f.gx, { atol: 1e-4 });
      expectClose(g.weight!, f.gw, { atol: 1e-4 });
    }
  });

  it('InstanceNorm matches PyTorch', () => {
    const f = L.instanceNorm;
    const inn = new InstanceNorm(3, { affine: true });
    load(inn, { weight: T(f.weight), bias: T(f.bias) });
    const x = nchw2nhwc(T(f.x));
    expectClose(nhwc2nchw(inn.forward(x)), f.y, { atol: 1e-5 });
    const gx = tf.grad((t: Tensor) => weighted(inn.forward(t), nchw2nhwc(T(f.up))))(x);
    expectClose(nhwc2nchw(gx), f.gx, { atol: 1e-4 });
  });

  it('BatchNorm2d matches PyTorch: batch stats, running stats with momentum, eval mode', () => {
    const f = L.batchNorm2d;
    const bn = new BatchNorm2d(3, { momentum: 0.2 });
    load(bn, { weight: T(f.weight), bias: T(f.bias) });
    const x1 = nchw2nhwc(T(f.x1));
    const g = backprop(bn, x1, nchw2nhwc(T(f.up)), ['weight', 'bias']);
    expectClose(nhwc2nchw(g.gx!), f.gx, { atol: 1e-4 });
    expectClose(g.weight!, f.gw, { atol: 1e-4 });
    expectClose(g.bias!, f.gb, { atol: 1e-4 });
    // backprop ran one training forward (updating stats); run the second batch.
    expectClose(nhwc2nchw(bn.forward(nchw2nhwc(T(f.x2)))), f.y2, { atol: 1e-5 });
    expectClose(bn.getBuffer('running_mean'), f.running_mean);
    expectClose(bn.getBuffer('running_var'), f.running_var);
    expect(bn.getBuffer('num_batches_tracked').dataSync()[0]).toBe(2);
    bn.eval();
    expectClose(nhwc2nchw(bn.forward(nchw2nhwc(T(f.x3)))), f.y3, { atol: 1e-5 });
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('BatchNorm1d matches PyTorch and leaks nothing in training mode', async () => {
    const f = L.batchNorm1d;
    const bn = new BatchNorm1d(4);
    expectClose(bn.forward(T(f.x)), f.y, { atol: 1e-5 });
    expectClose(bn.getBuffer('running_mean'), f.running_mean);
    expectClose(bn.getBuffer('running_var'), f.running_var);
    const x = T(f.x);
    await expectNoLeak(() => bn.forward(x));
    expect(() => bn.forward(tf.ones([1, 4]))).toThrow(/more than 1 value per channel/);
    expect(() => bn.forward(tf.ones([3, 5]))).toThrow(ShapeError);
  });

  it('RMSNorm equals x / sqrt(mean(x²) + eps) · w (hand-computed)', () => {
    const n = new RMSNorm(2, { eps: 0 });
    n.loadStateDict({ weight: tf.tensor([2, 0.5]) });
    // [3, 4]: rms = sqrt(12.5)
    const r = Math.sqrt(12.5);
    expectClose(n.forward(tf.tensor([[3, 4]])), [(2 * 3) / r, (0.5 * 4) / r]);
    checkGradFD((x) => weighted(new RMSNorm(3, { eps: 1e-6 }).forward(x), tf.tensor([[1, -2, 0.5]])), tf.tensor([[0.3, -1.1, 2]]));
  });
});

describe('Embedding, Flatten, Dropout, Sequential', () => {
  it('Embedding matches PyTorch; the padding row gets no gradient; int32 required', () => {
    const f = L.embedding;
    const e = new Embedding(6, 3, { paddingIdx: 1 });
    load(e, { weight: T(f.weight) });
    const idx = T(f.idx, 'int32');
    expectClose(e.forward(idx), f.y);
    const { value, grads } = valueAndGrads(() => weighted(e.forward(idx), T(f.up)), e);
    value.dispose();
    expectClose(grads.get(e.weight)!, f.gw);
    expect(() => e.forward(tf.tensor([1.5]))).toThrow(DTypeError);
    const fresh = new Embedding(6, 3, { paddingIdx: 1, seed: 2 });
    expect(Array.from(tf.slice(fresh.weight, [1, 0], [1, 3]).dataSync()).map(Math.abs)).toEqual([0, 0, 0]);
  });

  it('Flatten keeps the batch dim', () => {
    expect(new Flatten().forward(tf.ones([2, 3, 4, 5])).shape).toEqual([2, 60]);
    expect(new Flatten(0).forward(tf.ones([2, 3])).shape).toEqual([6]);
  });

  it('Dropout is inverted, seeded, identity in eval', () => {
    const d = new Dropout(0.5, { seed: 3 });
    const x = tf.ones([1000]);
    const y = d.forward(x).dataSync();
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 2) < 1e-6)).toBe(true);
    expect(kept.length).toBeGreaterThan(430);
    expect(kept.length).toBeLessThan(570);
    const y2 = d.forward(x).dataSync();
    expect(Array.from(y2)).not.toEqual(Array.from(y));
    const d2 = new Dropout(0.5, { seed: 3 });
    expect(Array.from(d2.forward(x).dataSync())).toEqual(Array.from(y));
    d.eval();
    expect(Array.from(d.forward(x).dataSync()).every((v) => v === 1)).toBe(true);
  });

  it('Sequential runs children in order with names 0, 1, …', async () => {
    const s = new Sequential(new Linear(2, 3, { seed: 1 }), new ReLU(), new Linear(3, 1, { seed: 2 }));
    expect(s.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const x = tf.tensor([[1, -1]]);
    const manual = tf.tidy(() => (s.at(2) as Linear).forward(tf.relu((s.at(0) as Linear).forward(x))));
    expectClose(s.forward(x), manual);
    await expectNoLeak(() => s.forward(x));
  });
});
