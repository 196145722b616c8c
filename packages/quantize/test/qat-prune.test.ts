import { describe, expect, it } from 'vitest';
import { Rng, tensor, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Adam, BatchNorm2d, Conv2d, Identity, MLP, Sequential, SmallCNN, valueAndGrads, disposeGrads, Activation } from '@nutshell/nn';
import {
  QatLinear, QuantizedLinear, compare, convertQat, distillationLoss, fakeQuantSTE, foldBatchNorms, freezeObservers,
  layerErrors, lsqFakeQuant, magnitudePrune, nmPrune, prepareQat, pruneChannels, quantizeModel, quantizeStatic, sizeReport, tensorError,
} from '@nutshell/quantize';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('fake quantization gradients', () => {
  it('STE passes the gradient inside the range and blocks clamped values', async () => {
    const x = tensor([-1, -0.26, 0.04, 0.31, 0.7, 2]);
    const c = tensor([1, 2, 3, 4, 5, 6]);
    const y = fakeQuantSTE(x, 0.1, 0, -4, 3);
    expect([...(await y.data())].map((v) => Math.round(v * 10))).toEqual([-4, -3, 0, 3, 3, 3]);
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(fakeQuantSTE(xx, 0.1, 0, -4, 3), c)))(x);
    // round(x/s): -10, -3, 0, 3, 7, 20 → inside for -3, 0, 3.
    expect([...(await g.data())]).toEqual([0, 2, 3, 4, 0, 0]);
    tf.dispose([x, c, y, g]);
    const xs = tensor([0.5, -0.5]);
    await expectNoLeak(() => fakeQuantSTE(xs, 0.1, 0, -8, 7));
    xs.dispose();
  });

  it('LSQ step gradient: finite differences of the forward plus the −x/s STE term (away from rounding boundaries)', async () => {
    const s0 = 0.1;
    const v = [-9.2, -3.3, -0.2, 0.7, 2.1, 6.8, 8.4, -7.6];
    const xs = v.map((u) => u * s0);
    const cs = [0.3, -1.2, 0.8, 1.5, -0.4, 0.9, 1.1, -0.7];
    const qn = -7, qp = 7;
    const fwd = (s: number) => xs.reduce((acc, x, i) => acc + cs[i]! * Math.round(Math.min(qp, Math.max(qn, x / s))) * s, 0);
    const h = 1e-6;
    const fd = (fwd(s0 + h) - fwd(s0 - h)) / (2 * h);
    const steTerm = xs.reduce((acc, x, i) => acc + (x / s0 > qn && x / s0 < qp ? cs[i]! * (x / s0) : 0), 0);
    const x = tensor(xs);
    const c = tensor(cs);
    const step = tensor([s0]);
    const f = (xx: tf.Tensor, ss: tf.Tensor) => tf.sum(tf.mul(lsqFakeQuant(xx, ss, qn, qp), c));
    const [gx, gs] = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, step]);
    expect((await gs!.data())[0]).toBeCloseTo(fd - steTerm, 4);
    expect([...(await gx!.data())].map((g) => g + 0)).toEqual(cs.map((ci, i) => (v[i]! > qn && v[i]! < qp ? Math.fround(ci) : 0)));
    // The gradient scale multiplies the step gradient only.
    const [, gs2] = tf.grads(((xx: tf.Tensor, ss: tf.Tensor) => tf.sum(tf.mul(lsqFakeQuant(xx, ss, qn, qp, 0.25), c))) as (...a: tf.Tensor[]) => tf.Tensor)([x, step]);
    expect((await gs2!.data())[0]).toBeCloseTo(0.25 * (fd - steTerm), 4);
    tf.dispose([x, c, step, gx!, gs!, gs2!]);
  });
});

describe('BatchNorm folding', () => {
  it('folded conv equals conv + BN in eval mode within 1e-5', async () => {
    const net = new Sequential(new Conv2d(3, 6, 3, { padding: 1, seed: 1 }), new BatchNorm2d(6), new Activation('relu'));
    const bn = net.getModule('1') as BatchNorm2d;
    const r = new Rng(3);
    tf.tidy(() => {
      bn.runningMean!.assign(tensor(Array.from({ length: 6 }, () => r.normal())));
      bn.runningVar!.assign(tensor(Array.from({ length: 6 }, () => 0.2 + r.uniform() * 2)));
      bn.weight!.assign(tensor(Array.from({ length: 6 }, () => r.normal())));
      bn.bias!.assign(tensor(Array.from({ length: 6 }, () => r.normal())));
    });
    net.eval();
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 4);
    const ref = net.forward(x);
    expect(foldBatchNorms(net)).toEqual(['0']);
    expect(net.getModule('1')).toBeInstanceOf(Identity);
    const got = net.forward(x);
    expect(maxAbsDiff(await got.data(), await ref.data())).toBeLessThan(1e-5);
    tf.dispose([x, ref, got]);
    net.dispose();
  });
});

function toyData(n = 64) {
  const r = new Rng(11);
  const xs = Float32Array.from({ length: n * 8 }, () => r.normal());
  const ys = Int32Array.from({ length: n }, (_, i) => (xs[i * 8]! + xs[i * 8 + 1]! > 0 ? 1 : 0));
  return { x: tensor(xs, [n, 8]), y: tensor(ys, [n], 'int32') };
}

describe('QAT', () => {
  for (const method of ['ste', 'lsq'] as const) {
    it(`${method}: trains through fake quant, converts to packed int4 that computes the same`, async () => {
      const mlp = new MLP({ sizes: [8, 16, 2], seed: 2 });
      const { x, y } = toyData();
      expect(prepareQat(mlp, { bits: 4, method, activations: true })).toEqual(['0', '2']);
      expect(mlp.getModule('0')).toBeInstanceOf(QatLinear);
      if (method === 'lsq') expect(mlp.namedParameters().map(([n]) => n)).toContain('0.weight_step');
      const opt = new Adam(mlp, { lr: 0.01 });
      let first = 0, last = 0;
      for (let i = 0; i < 15; i++) {
        const { value, grads } = valueAndGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 2), mlp.forward(x)) as tf.Scalar, mlp);
        if (method === 'lsq') expect(grads.has(mlp.getParameter('0.weight_step'))).toBe(true);
        opt.step(grads);
        disposeGrads(grads);
        if (i === 0) first = value.dataSync()[0]!;
        last = value.dataSync()[0]!;
        value.dispose();
      }
      expect(last).toBeLessThan(first);
      freezeObservers(mlp);
      mlp.eval();
      const fq = mlp.forward(x);
      convertQat(mlp);
      const q = mlp.getModule('0') as QuantizedLinear;
      expect(q).toBeInstanceOf(QuantizedLinear);
      expect(q.packedWeight.scheme).toBe('int4');
      expect(q.activation.mode).toBe('static');
      const out = mlp.forward(x);
      expect(maxAbsDiff(await out.data(), await fq.data())).toBeLessThan(1e-4);
      tf.dispose([x, y, fq, out]);
      mlp.dispose();
    });
  }
  it('2- and 3-bit QAT convert to int4 containers whose codes stay within ±(2^(b−1)−1) and compute the same', async () => {
    for (const bits of [2, 3]) {
      const mlp = new MLP({ sizes: [8, 16, 2], seed: 3 });
      const { x, y } = toyData();
      prepareQat(mlp, { bits });
      mlp.eval();
      const fq = mlp.forward(x);
      convertQat(mlp);
      const q = mlp.getModule('0') as QuantizedLinear;
      expect(q.packedWeight.scheme).toBe('int4');
      const qmax = 2 ** (bits - 1) - 1;
      const scales = q.packedWeight.groupScales();
      const w = q.packedWeight.dequantizeRange();
      const codes = new Set<number>();
      for (let i = 0; i < w.length; i++) codes.add(Math.round(w[i]! / scales[Math.floor(i / 8)]!));
      expect(Math.max(...[...codes].map(Math.abs))).toBe(qmax);
      expect(codes.size).toBeLessThanOrEqual(2 * qmax + 1);
      const out = mlp.forward(x);
      expect(maxAbsDiff(await out.data(), await fq.data())).toBeLessThan(1e-5);
      tf.dispose([x, y, fq, out]);
      mlp.dispose();
    }
  });

  it('rejects bad QAT configs', () => {
    const mlp = new MLP({ sizes: [4, 4], seed: 1 });
    for (const bits of [1, 9, 2.5]) expect(() => prepareQat(mlp, { bits })).toThrow(/bits/);
    expect(() => prepareQat(mlp, { method: 'pact' as never })).toThrow(/method/);
    mlp.dispose();
  });
});

describe('static PTQ', () => {
  it('calibrates uint8 input qparams with min-max and quantizes weights to int8', async () => {
    const mlp = new MLP({ sizes: [8, 16, 2], seed: 3 });
    const { x } = toyData(32);
    const ref = mlp.forward(x);
    const batches = [tf.slice(x, [0, 0], [16, 8]), tf.slice(x, [16, 0], [16, 8])];
    const { replaced } = await quantizeStatic(mlp, batches, 'int8');
    const xv = await x.data();
    const lo = Math.min(0, ...xv), hi = Math.max(0, ...xv);
    const first = replaced.find((r) => r.name === '0')!;
    expect(first.inputScale).toBeCloseTo((hi - lo) / 255, 6);
    expect(first.inputZeroPoint).toBe(Math.round(-lo / first.inputScale));
    const out = mlp.forward(x);
    expect(maxAbsDiff(await out.data(), await ref.data())).toBeLessThan(0.05);
    tf.dispose([x, ref, out, ...batches]);
    mlp.dispose();
  });
});

describe('pruning', () => {
  it('magnitude pruning (layer-wise and global) zeroes exactly the smallest weights; masks survive fine-tuning', () => {
    const mlp = new MLP({ sizes: [16, 32, 8], seed: 4 });
    const all = [...mlp.getParameter('0.weight').dataSync(), ...mlp.getParameter('2.weight').dataSync()];
    const masks = magnitudePrune(mlp, { amount: 0.5, scope: 'global' });
    const thr = [...all].map(Math.abs).sort((a, b) => a - b)[all.length / 2 - 1]!;
    const after = [...mlp.getParameter('0.weight').dataSync(), ...mlp.getParameter('2.weight').dataSync()];
    expect(after.filter((v) => v === 0).length).toBe(all.length / 2);
    after.forEach((v, i) => expect(v === 0).toBe(Math.abs(all[i]!) <= thr));
    expect(masks.sparsity().total).toBe(0.5);
    const { x, y } = toyData();
    const head = tf.slice(tf.concat([x, x], 1), [0, 0], [64, 16]);
    const opt = new Adam(mlp, { lr: 0.05 });
    for (let i = 0; i < 3; i++) {
      const { value, grads } = valueAndGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 8), mlp.forward(head)) as tf.Scalar, mlp);
      opt.step(grads);
      masks.apply();
      disposeGrads(grads);
      value.dispose();
    }
    const tuned = mlp.getParameter('0.weight').dataSync();
    const m0 = masks.masks.get('0')!.mask.dataSync();
    tuned.forEach((v, i) => { if (m0[i] === 0) expect(v === 0).toBe(true); });
    masks.dispose();
    const layerMasks = magnitudePrune(mlp, { amount: 0.75, include: ['2'] });
    expect(layerMasks.sparsity().layers['2']).toBe(0.75);
    layerMasks.dispose();
    tf.dispose([x, y, head]);
    mlp.dispose();
  });

  it('2:4 sparsity keeps the two largest of every four inputs', () => {
    const mlp = new MLP({ sizes: [16, 8], seed: 5 });
    const w0 = mlp.getParameter('0.weight').dataSync().slice();
    const masks = nmPrune(mlp);
    const w = mlp.getParameter('0.weight').dataSync();
    for (let g = 0; g < w.length; g += 4) {
      const orig = [...w0.slice(g, g + 4)].map(Math.abs).sort((a, b) => b - a);
      const kept = [...w.slice(g, g + 4)].filter((v) => v !== 0).map(Math.abs).sort((a, b) => b - a);
      expect(kept).toEqual(orig.slice(0, 2));
    }
    expect(masks.sparsity().total).toBe(0.5);
    masks.dispose();
    expect(() => nmPrune(new MLP({ sizes: [6, 2], seed: 1 }))).toThrow(/multiple of 4/);
    mlp.dispose();
  });

  it('structured pruning shrinks a conv and the Linear after the Flatten, equal to zeroing those filters', async () => {
    const cnn = new SmallCNN({ seed: 6, channels: [4, 8], hidden: 16 });
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 6);
    const { kept } = pruneChannels(cnn, { layer: '3', next: '7', keep: 5 });
    expect(kept.length).toBe(5);
    expect((cnn.getModule('3') as Conv2d).outChannels).toBe(5);
    const pruned = cnn.forward(x);
    expect(pruned.shape).toEqual([2, 10]);
    // Reference: the same weights with the removed filters zeroed in a full-size model.
    const ref = new SmallCNN({ seed: 6, channels: [4, 8], hidden: 16 });
    const w = ref.getParameter('3.weight');
    const b = ref.getParameter('3.bias');
    tf.tidy(() => {
      const mask = tensor(Array.from({ length: 8 }, (_, c) => (kept.includes(c) ? 1 : 0)));
      w.assign(tf.mul(w, tf.reshape(mask, [8, 1, 1, 1])));
      b.assign(tf.mul(b, mask));
    });
    const full = ref.forward(x);
    expect(maxAbsDiff(await pruned.data(), await full.data())).toBeLessThan(1e-5);
    expect(cnn.numParameters()).toBeLessThan(ref.numParameters());
    tf.dispose([x, pruned, full]);
    cnn.dispose();
    ref.dispose();
  });
});

describe('distillation and reports', () => {
  it('distillation loss equals α·T²·KL + (1−α)·CE computed by hand', async () => {
    const s = [[1, 2, 0.5], [0.1, -1, 2]];
    const t = [[2, 1, 0], [0, 0, 3]];
    const labels = [1, 2];
    const T = 3, alpha = 0.7;
    const sm = (row: number[], temp: number) => { const e = row.map((v) => Math.exp(v / temp)); const z = e.reduce((a, b) => a + b); return e.map((v) => v / z); };
    let kl = 0, ce = 0;
    for (let i = 0; i < 2; i++) {
      const ps = sm(s[i]!, T), pt = sm(t[i]!, T);
      kl += pt.reduce((a, p, j) => a + p * Math.log(p / ps[j]!), 0);
      ce -= Math.log(sm(s[i]!, 1)[labels[i]!]!);
    }
    const want = alpha * T * T * (kl / 2) + (1 - alpha) * (ce / 2);
    const st = tensor(s), tt = tensor(t), lt = tensor(labels, [2], 'int32');
    const got = distillationLoss(st, tt, lt, { temperature: T, alpha });
    expect((await got.data())[0]).toBeCloseTo(want, 5);
    const oneHot = tf.oneHot(lt, 3);
    const got2 = distillationLoss(st, tt, tf.cast(oneHot, 'float32'), { temperature: T, alpha });
    expect((await got2.data())[0]).toBeCloseTo(want, 5);
    await expectNoLeak(() => distillationLoss(st, tt, lt));
    expect(() => distillationLoss(st, tt, null)).toThrow(/labels/);
    tf.dispose([st, tt, lt, got, oneHot, got2]);
  });

  it('size report, per-layer errors and compare()', async () => {
    const make = () => new MLP({ sizes: [64, 128, 10], seed: 7 });
    const original = make();
    const q = make();
    quantizeModel(q, 'int8');
    const rep = sizeReport(q);
    expect(rep.fp32WeightBytes).toBe(4 * (64 * 128 + 128 * 10));
    expect(rep.weightBytes).toBe(64 * 128 + 128 * 4 + 128 * 10 + 10 * 4);
    expect(rep.weightRatio).toBeLessThan(0.27);
    expect(rep.totalBytes).toBe(rep.weightBytes + 4 * (128 + 10));
    const errs = layerErrors(original, q);
    expect(errs.map((e) => e.name)).toEqual(['0', '2']);
    for (const e of errs) {
      expect(e.cosine).toBeGreaterThan(0.9999);
      expect(e.sqnr).toBeGreaterThan(35);
    }
    expect(tensorError([1, 2], [1, 2]).sqnr).toBe(Infinity);
    const te = tensorError([3, 4], [3, 3]);
    expect(te.mse).toBe(0.5);
    expect(te.sqnr).toBeCloseTo(10 * Math.log10(25), 10);
    const x = tf.randomNormal([16, 64], 0, 1, 'float32', 1);
    const res = await compare(original, q, (m) => tf.tidy(() => tf.mean(m.forward(x)).dataSync()[0]!));
    expect(res.delta).toBeCloseTo(res.quantized - res.original, 10);
    expect(Math.abs(res.delta)).toBeLessThan(0.01);
    expect(res.size.quantized.weightBytes).toBeLessThan(res.size.original.weightBytes);
    x.dispose();
    original.dispose();
    q.dispose();
  });
});
