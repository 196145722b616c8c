import { InvalidArgumentError, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  AvgPool1d, AvgPool2d, CBAM, Conv2d, ChannelAttention, ConvTranspose2d, DataLoader, InstanceNorm, LSTM, Linear, MaxPool1d, MaxPool2d,
  MetricsLogger, NonFiniteInputError, SGD, historyCsv, lossCurveSvg, SpatialAttention, Trainer, mseLoss, spectralNorm, valueAndGrads,
} from '@nutshell/nn';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { T, checkGradFD, expectClose, fixture, weighted } from './helpers.js';

const E = () => fixture('extras.json');

describe('1-d pools and ceil mode (PyTorch fixtures)', () => {
  it('MaxPool1d / AvgPool1d match F.max_pool1d / F.avg_pool1d (NCL), incl. ceil mode', async () => {
    const f = E().pool1d;
    const x = T(f.x);
    expectClose(new MaxPool1d(3, { stride: 2, padding: 1, dataFormat: 'NCL' }).forward(x), f.max);
    expectClose(new MaxPool1d(2, { stride: 2, ceilMode: true, dataFormat: 'NCL' }).forward(x), f.max_ceil);
    expectClose(new AvgPool1d(3, { stride: 2, padding: 1, dataFormat: 'NCL' }).forward(x), f.avg);
    expectClose(new AvgPool1d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false, dataFormat: 'NCL' }).forward(x), f.avg_ceil_noinc);
    // Channels-last default = the same numbers transposed.
    const nlc = new MaxPool1d(3, { stride: 2, padding: 1 }).forward(tf.transpose(x, [0, 2, 1]));
    expectClose(tf.transpose(nlc, [0, 2, 1]), f.max);
    expect(() => new MaxPool1d(2).forward(tf.ones([2, 3]))).toThrow(ShapeError);
    await expectNoLeak(() => new AvgPool1d(3, { stride: 2, ceilMode: true }).forward(x));
  });

  it('MaxPool2d / AvgPool2d ceil mode match PyTorch; gradients match finite differences', async () => {
    const f = E().pool2d_ceil;
    const x = T(f.x);
    const o = { stride: 2, dataFormat: 'NCHW' as const, ceilMode: true };
    expectClose(new MaxPool2d(3, o).forward(x), f.max);
    expectClose(new MaxPool2d(3, { ...o, padding: 1 }).forward(x), f.max_pad);
    expectClose(new AvgPool2d(3, o).forward(x), f.avg);
    expectClose(new AvgPool2d(3, { ...o, padding: 1 }).forward(x), f.avg_pad);
    expectClose(new AvgPool2d(3, { ...o, padding: 1, countIncludePad: false }).forward(x), f.avg_pad_noinc);
    const up = tf.randomNormal(f.avg_pad.shape, 0, 1, 'float32', 3);
    const pool = new AvgPool2d(3, { ...o, padding: 1 });
    checkGradFD((t) => weighted(pool.forward(t), up), x);
    await expectNoLeak(() => new MaxPool2d(3, { ...o, padding: 1 }).forward(x));
  });
});

describe('ConvTranspose2d groups and dilation', () => {
  it('matches torch.nn.ConvTranspose2d(4, 6, 3, stride 2, padding 1, output_padding 1, groups 2, dilation 2)', async () => {
    const f = E().convT_groups_dilation;
    const ct = new ConvTranspose2d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 2, dataFormat: 'NCHW' });
    expect(ct.weight.shape).toEqual([4, 3, 3, 3]);
    ct.loadStateDict({ weight: T(f.weight), bias: T(f.bias) });
    const x = T(f.x);
    expectClose(ct.forward(x), f.y);
    const up = T(f.up);
    const gx = tf.grad((t) => weighted(ct.forward(t), up))(x);
    expectClose(gx, f.gx);
    const { grads } = valueAndGrads(() => weighted(ct.forward(x), up), ct);
    expectClose(grads.get(ct.weight)!, f.gw, { atol: 1e-4 });
    checkGradFD((t) => weighted(ct.forward(t), up), x, { samples: 6 });
    expect(() => new ConvTranspose2d(4, 6, 3, { groups: 4 })).toThrow(InvalidArgumentError);
    expect(() => new ConvTranspose2d(4, 6, 3, { stride: 1, dilation: 1, outputPadding: 1 })).toThrow(/outputPadding/);
    await expectNoLeak(() => ct.forward(x));
  });
});

describe('InstanceNorm running stats', () => {
  it('updates running_mean/var like InstanceNorm2d(track_running_stats=True) and uses them in eval', async () => {
    const f = E().instancenorm_running;
    const m = new InstanceNorm(3, { trackRunningStats: true, momentum: 0.2, channels: 'channelsFirst' });
    expect(Object.keys(m.stateDict()).sort()).toEqual(['num_batches_tracked', 'running_mean', 'running_var']);
    expectClose(m.forward(T(f.x1)), f.y1, { atol: 1e-4 });
    m.forward(T(f.x2)).dispose();
    expectClose(m.runningMean!, f.running_mean);
    expectClose(m.runningVar!, f.running_var, { atol: 1e-4 });
    expect(m.numBatchesTracked!.dataSync()[0]).toBe(f.num_batches_tracked);
    m.eval();
    const x1 = T(f.x1);
    expectClose(m.forward(x1), f.eval_y, { atol: 1e-4 });
    await expectNoLeak(() => m.forward(x1));
    m.train();
    await expectNoLeak(() => m.forward(x1));
  });
});

describe('spectralNorm (torch.nn.utils.spectral_norm layout)', () => {
  it('stores weight_orig / weight_u / weight_v and reproduces PyTorch forward and power iteration', async () => {
    const f = E().spectral_norm;
    const lin = spectralNorm(new Linear(5, 3, { seed: 0 }));
    expect(Object.keys(lin.stateDict()).sort()).toEqual(f.keys);
    lin.loadStateDict({ weight_orig: T(f.weight_orig), bias: T(f.bias), weight_u: T(f.u0), weight_v: T(f.v0) });
    const x = T(f.x);
    expectClose(lin.forward(x), f.y_train);
    expectClose(lin.getBuffer('weight_u'), f.u1);
    expectClose(lin.getBuffer('weight_v'), f.v1);
    lin.eval();
    expectClose(lin.forward(x), f.y_eval);
    expect(lin.weight).toBe(lin.getParameter('weight_orig')); // restored after each forward
    // Gradient flows to weight_orig (through σ), checked by finite differences on the input.
    checkGradFD((t) => tf.sum(tf.square(lin.forward(t))), x);
    const { grads } = valueAndGrads(() => tf.sum(lin.forward(x)), lin);
    expect(grads.has(lin.getParameter('weight_orig'))).toBe(true);
    expect(() => spectralNorm(new InstanceNorm(3))).toThrow(/no parameter 'weight'/);
    await expectNoLeak(() => lin.forward(x));
    lin.train();
    await expectNoLeak(() => lin.forward(x));
  });
});

describe('spectralNorm on other modules', () => {
  it('Conv2d (dim 0) and ConvTranspose2d (dim 1): converged u, v form a singular pair and forward uses W/σ', async () => {
    for (const [m, dim] of [[new Conv2d(3, 4, 3, { seed: 1 }), 0], [new ConvTranspose2d(3, 4, 3, { seed: 2 }), 1]] as const) {
      const sn = spectralNorm(m, { powerIterations: 60, seed: 0 });
      const x = tf.randomNormal([1, 5, 5, 3], 0, 1, 'float32', 9);
      const y = sn.forward(x); // one training forward runs the iterations
      const w = sn.getParameter('weight_orig');
      const perm = dim === 0 ? [0, 1, 2, 3] : [1, 0, 2, 3];
      const W = tf.reshape(tf.transpose(w, perm), [w.shape[dim]!, -1]);
      const u = sn.getBuffer('weight_u');
      const v = sn.getBuffer('weight_v');
      const sigma = tf.sum(tf.mul(u, tf.reshape(tf.matMul(W, tf.reshape(v, [-1, 1])), [-1]))).dataSync()[0]!;
      // W v = σ u and Wᵀ u = σ v at convergence.
      expectClose(tf.reshape(tf.matMul(W, tf.reshape(v, [-1, 1])), [-1]), tf.mul(u, sigma), { atol: 1e-4 });
      expectClose(tf.reshape(tf.matMul(W, tf.reshape(u, [-1, 1]), true), [-1]), tf.mul(v, sigma), { atol: 1e-4 });
      sn.eval();
      const ref = (m as Conv2d).forwardWithWeight ? (m as Conv2d).forwardWithWeight(x, tf.div(w, sigma)) : null;
      if (ref) expectClose(sn.forward(x), ref, { atol: 1e-5 });
      else expectClose(sn.forward(x), y, { atol: 1e-4 }); // eval reuses the converged σ
      await expectNoLeak(() => sn.forward(x));
    }
  });
});

describe('RNN boolean mask', () => {
  it('a right-padded mask equals the same lengths; a gap is rejected', async () => {
    const lstm = new LSTM(3, 4, { seed: 0, bidirectional: true });
    const x = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 1);
    const a = lstm.forward(x, { lengths: [5, 3] });
    const b = lstm.forward(x, { mask: [[true, true, true, true, true], [true, true, true, false, false]] });
    const c = lstm.forward(x, { mask: tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]) });
    expectClose(b.output, a.output, { atol: 1e-7, rtol: 0 });
    expectClose(c.state.h, a.state.h, { atol: 1e-7, rtol: 0 });
    expect(() => lstm.forward(x, { mask: [[true, false, true, true, true], [true, true, true, true, true]] })).toThrow(/gap/);
    expect(() => lstm.forward(x, { mask: [[true, true]] })).toThrow(ShapeError);
    await expectNoLeak(() => lstm.forward(x, { mask: [[true, true, true, true, true], [true, false, false, false, false]] }));
  });
});

describe('spatial attention (CBAM)', () => {
  it('SpatialAttention equals sigmoid(conv([mean_c, max_c])) · x by hand; gradients match finite differences', async () => {
    const sa = new SpatialAttention(3, { seed: 2 });
    const x = tf.randomNormal([2, 4, 5, 3], 0, 1, 'float32', 5);
    const k = sa.conv.weight.arraySync() as number[][][][]; // [1, 2, 3, 3]
    const xv = x.arraySync() as number[][][][];
    const y = sa.forward(x).arraySync() as number[][][][];
    for (const [n, i, j] of [[0, 0, 0], [1, 2, 3], [0, 3, 4]] as const) {
      let s = 0;
      for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
        const r = xv[n]![i + di]?.[j + dj];
        if (!r) continue;
        s += k[0]![0]![di + 1]![dj + 1]! * (r.reduce((a, b) => a + b, 0) / 3) + k[0]![1]![di + 1]![dj + 1]! * Math.max(...r);
      }
      const gate = 1 / (1 + Math.exp(-s));
      for (let c = 0; c < 3; c++) expect(y[n]![i]![j]![c]).toBeCloseTo(xv[n]![i]![j]![c]! * gate, 5);
    }
    checkGradFD((t) => tf.sum(tf.square(sa.forward(t))), x);
    await expectNoLeak(() => sa.forward(x));
  });

  it('ChannelAttention and CBAM: gates in (0, 1), shapes, names, no leaks', async () => {
    const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 6);
    const ca = new ChannelAttention(8, 4, { seed: 1 });
    const g = ca.attention(x);
    expect(g.shape).toEqual([2, 1, 1, 8]);
    const gv = g.dataSync();
    expect(Math.min(...gv)).toBeGreaterThan(0);
    expect(Math.max(...gv)).toBeLessThan(1);
    const cbam = new CBAM(8, { reduction: 4, seed: 0 });
    expect(cbam.namedParameters().map(([n]) => n)).toEqual(['channel.fc1.weight', 'channel.fc1.bias', 'channel.fc2.weight', 'channel.fc2.bias', 'spatial.conv.weight']);
    expect(cbam.forward(x).shape).toEqual([2, 4, 4, 8]);
    checkGradFD((t) => tf.sum(tf.square(cbam.forward(t))), x, { samples: 6 });
    expect(() => ca.forward(tf.ones([2, 4, 4, 7]))).toThrow(ShapeError);
    await expectNoLeak(() => {
      const { value, grads } = valueAndGrads(() => tf.sum(cbam.forward(x)), cbam);
      return [value, [...grads.values()]];
    });
  });
});

describe('Trainer checkInputs', () => {
  it('throws NonFiniteInputError naming the batch and tensor; off by default', async () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, NaN], [7, 8]]);
    const y = tf.tensor2d([[1], [2], [3], [4]]);
    const make = (checkInputs?: boolean) => {
      const model = new Linear(2, 1, { seed: 0 });
      return new Trainer({ model, optimizer: new SGD(model, { lr: 0.01 }), loss: (m, [xb, yb]) => mseLoss(m.forward(xb!), yb!), checkInputs, checkFinite: false });
    };
    const loader = new DataLoader([x, y], { batchSize: 2 });
    const err = await make(true).fit(loader).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteInputError);
    expect(err.message).toMatch(/batch 1 of epoch 0, tensor batch\[0\] \[2, 2\] holds NaN at flat index 1/);
    expect(err.batch).toBe(1);
    await expect(make(false).fit(loader)).resolves.toBeDefined();
    const evalErr = (() => { try { make(true).evaluate(loader); } catch (e) { return e; } })();
    expect(evalErr).toBeInstanceOf(NonFiniteInputError);
  });
});

describe('MetricsLogger and the progress option', () => {
  it('writes metrics.csv, history.json and a loss-curve SVG; progress: true logs JSON lines off a TTY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nn-metrics-'));
    const x = tf.tensor2d([[0], [1], [2], [3]]);
    const y = tf.tensor2d([[1], [3], [5], [7]]);
    const model = new Linear(1, 1, { seed: 0 });
    let out = '';
    const trainer = new Trainer({
      model, optimizer: new SGD(model, { lr: 0.05 }), loss: (m, [xb, yb]) => mseLoss(m.forward(xb!), yb!),
      callbacks: [new MetricsLogger(dir)], progress: { stream: { write: (t: string) => (out += t), isTTY: false }, every: 1 },
    });
    const loader = new DataLoader([x, y], { batchSize: 2 });
    const history = await trainer.fit(loader, { epochs: 3, evalData: loader });
    const csv = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('kind,step,epoch,loss,lr');
    expect(csv.filter((l) => l.startsWith('train,'))).toHaveLength(6);
    expect(csv.filter((l) => l.startsWith('eval,'))).toHaveLength(3);
    expect(csv).toEqual(historyCsv(history).trim().split('\n'));
    expect(JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')).steps).toHaveLength(6);
    const svg = readFileSync(join(dir, 'loss.svg'), 'utf8');
    expect(svg).toBe(lossCurveSvg(history));
    expect(svg.match(/<polyline [^>]*points="([^"]+)"/)![1]!.split(' ')).toHaveLength(6);
    expect(svg).toContain('eval loss');
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'step')).toHaveLength(6);
    expect(events.filter((e) => e.event === 'epoch')).toHaveLength(3);
  });
});
