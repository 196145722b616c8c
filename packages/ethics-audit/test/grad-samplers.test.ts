import { Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { GRAD_SAMPLERS, ghostClippedGradients, makePrivate, perSampleGradients, privatizeGradients, rdpEpsilon, unfoldNHWC } from '@nutshell/ethics-audit';
import { Conv2d, DataLoader, Embedding, GroupNorm, LayerNorm, Linear, Module, RMSNorm, SGD, crossEntropy, valueAndGrads, type Conv2dOptions, type Module as M } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

const rng = new Rng('grad-samplers');
const randn = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
const labels = (B: number, k: number) => tf.tensor1d(Array.from({ length: B }, (_, i) => (i * 7 + 1) % k), 'int32');
const perExample = (m: M, [x, y]: Tensor[]) => crossEntropy(m.forward(x!), y!, { reduction: 'none' });

/** Independent reference: each example's gradient from its own batch-1 tf.grads pass. */
function oneAtATime(model: M, batch: Tensor[], loss = perExample): number[][][] {
  const params = model.parameters({ trainableOnly: true });
  const out: number[][][] = params.map(() => []);
  for (let i = 0; i < batch[0]!.shape[0]!; i++) {
    const one = batch.map((t) => tf.slice(t, [i], [1]));
    const { value, grads } = valueAndGrads(() => tf.sum(loss(model, one)), params);
    params.forEach((p, k) => out[k]!.push(Array.from((grads.get(p) ?? tf.zerosLike(p)).dataSync())));
    tf.dispose([...one, value, ...grads.values()]);
  }
  return out;
}

function rows(t: Tensor): number[][] {
  const B = t.shape[0]!, d = t.dataSync(), n = d.length / B;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * n, (b + 1) * n)));
}

function maxRelErr(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((r, i) => r.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i]![j]!) / (1 + Math.abs(b[i]![j]!))); }));
  return worst;
}

/** Vectorized per-example gradients vs the loop reference, within 1e-5; returns the strategy used. */
function checkAgainstReference(model: M, batch: Tensor[], loss = perExample): string {
  const ref = oneAtATime(model, batch, loss);
  const r = perSampleGradients(model, loss, batch);
  expect(r.grads.map((g) => g.shape)).toEqual(model.parameters({ trainableOnly: true }).map((p) => [batch[0]!.shape[0], ...p.shape]));
  r.grads.forEach((g, k) => expect(maxRelErr(rows(g), ref[k]!)).toBeLessThan(1e-5));
  tf.dispose(r.grads);
  return r.strategy;
}

class ConvNet extends Module {
  conv: Conv2d;
  head: Linear;
  constructor(inC: number, outC: number, k: number | [number, number], opts: Conv2dOptions) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, outC, k, { seed: 1, ...opts }));
    this.head = this.registerModule('head', new Linear(outC, 3, { seed: 2 }));
  }
  forward(x: Tensor) {
    return tf.tidy(() => {
      const h = tf.tanh(this.conv.forward(x));
      return this.head.forward(tf.mean(h, this.conv.dataFormat === 'NCHW' ? [2, 3] : [1, 2]));
    });
  }
}

const convCases: { name: string; inC: number; outC: number; k: number | [number, number]; opts: Conv2dOptions; hw: [number, number] }[] = [
  { name: '3×3, padding 1', inC: 2, outC: 3, k: 3, opts: { padding: 1 }, hw: [6, 5] },
  { name: '3×2 kernel, stride 2, NCHW', inC: 2, outC: 4, k: [3, 2], opts: { stride: 2, padding: [1, 0], dataFormat: 'NCHW' }, hw: [7, 6] },
  { name: 'dilation 2, padding same', inC: 3, outC: 2, k: 3, opts: { dilation: 2, padding: 'same' }, hw: [7, 7] },
  { name: 'groups 2, stride [2, 1], no bias', inC: 4, outC: 6, k: 3, opts: { groups: 2, stride: [2, 1], bias: false }, hw: [7, 6] },
  { name: 'depthwise (groups = inC, ×2), NCHW', inC: 3, outC: 6, k: 3, opts: { groups: 3, padding: 1, dataFormat: 'NCHW' }, hw: [5, 5] },
  { name: '1×1 valid', inC: 3, outC: 2, k: 1, opts: { padding: 'valid' }, hw: [4, 4] },
];

describe('vectorized per-example gradients for Conv2d, Embedding and norm layers', () => {
  for (const c of convCases) {
    it(`Conv2d ${c.name} equals a per-example loop of tf.grads`, () => {
      const model = new ConvNet(c.inC, c.outC, c.k, c.opts);
      const B = 5;
      const x = randn(c.opts.dataFormat === 'NCHW' ? [B, c.inC, ...c.hw] : [B, ...c.hw, c.inC]);
      const y = labels(B, 3);
      expect(checkAgainstReference(model, [x, y])).toBe('vectorized');
      tf.dispose([x, y]);
    });
  }

  it('unfold matches a direct im2col with padding, stride and dilation', () => {
    const x = randn([2, 5, 6, 3]);
    const geo = { kernel: [2, 3] as [number, number], stride: [2, 1] as [number, number], dilation: [1, 2] as [number, number], padding: [1, 0, 2, 1] as [number, number, number, number] };
    const u = unfoldNHWC(x, geo); // [B, L, C, kh·kw]
    const xs = x.arraySync() as number[][][][];
    const Ho = Math.floor((5 + 1 - 1 - 1) / 2) + 1, Wo = Math.floor((6 + 3 - 4 - 1) / 1) + 1;
    expect(u.shape).toEqual([2, Ho * Wo, 3, 6]);
    const us = u.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
        const r = oh * 2 + i - 1, q = ow + j * 2 - 2;
        const want = r >= 0 && r < 5 && q >= 0 && q < 6 ? xs[b]![r]![q]![c]! : 0;
        expect(us[b]![oh * Wo + ow]![c]![i * 3 + j]).toBeCloseTo(want, 6);
      }
    }
    tf.dispose([x, u]);
  });

  it('Embedding (with paddingIdx, sequences) → LayerNorm → RMSNorm → Linear equals the loop', () => {
    class EmbNet extends Module {
      emb = this.registerModule('emb', new Embedding(11, 5, { paddingIdx: 0, seed: 3 }));
      ln = this.registerModule('ln', new LayerNorm(5));
      rms = this.registerModule('rms', new RMSNorm(5));
      head = this.registerModule('head', new Linear(5, 3, { seed: 4 }));
      forward(idx: Tensor) { return tf.tidy(() => this.head.forward(tf.mean(this.rms.forward(tf.tanh(this.ln.forward(this.emb.forward(idx)))), 1))); }
    }
    const model = new EmbNet();
    // Non-trivial norm parameters, so the check is not at w = 1, b = 0.
    for (const p of [model.ln.weight!, model.ln.bias!, model.rms.weight!]) p.assign(tf.add(p, randn(p.shape)));
    const idx = tf.tensor2d([[1, 2, 0, 4], [3, 3, 3, 0], [10, 9, 1, 2], [0, 0, 5, 5]], [4, 4], 'int32');
    const y = labels(4, 3);
    expect(checkAgainstReference(model, [idx, y])).toBe('vectorized');
    tf.dispose([idx, y]);
  });

  it('GroupNorm (channels last and first) and LayerNorm over two dims equal the loop', () => {
    for (const format of ['NHWC', 'NCHW'] as const) {
      class GnNet extends Module {
        conv = this.registerModule('conv', new Conv2d(2, 4, 3, { padding: 1, seed: 5, dataFormat: format }));
        gn = this.registerModule('gn', new GroupNorm(2, 4, { channels: format === 'NHWC' ? 'channelsLast' : 'channelsFirst' }));
        ln = this.registerModule('ln', new LayerNorm(format === 'NHWC' ? [4, 4] : [3, 3]));
        head = this.registerModule('head', new Linear(format === 'NHWC' ? 4 : 3, 3, { seed: 6 }));
        forward(x: Tensor) {
          return tf.tidy(() => {
            const h = this.ln.forward(tf.relu(this.gn.forward(this.conv.forward(x))));
            return this.head.forward(tf.mean(h, format === 'NHWC' ? [1, 2] : [1, 2]));
          });
        }
      }
      const model = new GnNet();
      for (const p of [model.gn.weight!, model.gn.bias!, model.ln.weight!]) p.assign(tf.add(p, randn(p.shape)));
      const x = randn(format === 'NHWC' ? [4, 3, 4, 2] : [4, 2, 3, 3]);
      const y = labels(4, 3);
      expect(checkAgainstReference(model, [x, y])).toBe('vectorized');
      tf.dispose([x, y]);
    }
  });

  it('a reused layer sums its calls; tied weights and weight penalties fall back to the loop', () => {
    class Twice extends Module {
      lin = this.registerModule('lin', new Linear(4, 4, { seed: 7 }));
      head = this.registerModule('head', new Linear(4, 3, { seed: 8 }));
      forward(x: Tensor) { return tf.tidy(() => this.head.forward(tf.tanh(this.lin.forward(tf.tanh(this.lin.forward(x)))))); }
    }
    const x = randn([6, 4]), y = labels(6, 3);
    expect(checkAgainstReference(new Twice(), [x, y])).toBe('vectorized');

    // GPT-style tied embedding: the head multiplies by emb.weight outside the Embedding's forward.
    class Tied extends Module {
      emb = this.registerModule('emb', new Embedding(7, 4, { seed: 9 }));
      forward(idx: Tensor) { return tf.tidy(() => tf.matMul(tf.mean(this.emb.forward(idx), 1), this.emb.weight, false, true)); }
    }
    const idx = tf.tensor2d([[1, 2, 3], [4, 5, 6], [0, 1, 1], [6, 6, 2]], [4, 3], 'int32'), yi = labels(4, 7);
    const tied = new Tied();
    expect(checkAgainstReference(tied, [idx, yi])).toBe('loop');
    expect(() => perSampleGradients(tied, perExample, [idx, yi], { strategy: 'vectorized' })).toThrow(/grad sampler/);
    expect(ghostClippedGradients(tied, perExample, [idx, yi], { maxGradNorm: 1, noiseMultiplier: 0 })).toBeNull();

    // A penalty on a weight inside the loss is not seen by the layer traces.
    const model = new Twice();
    const penalised = (m: M, b: Tensor[]) => tf.add(perExample(m, b), tf.mul(0.1, tf.sum(tf.square((m as Twice).head.weight))));
    expect(checkAgainstReference(model, [x, y], penalised)).toBe('loop');
    tf.dispose([x, y, idx, yi]);
  });

  it('each sampler\'s ghost norm and weighted sum agree with its materialised per-example gradients', () => {
    const B = 3;
    const layers: [M, Tensor][] = [
      [new Linear(3, 4, { seed: 1 }), randn([B, 2, 3])],
      [new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2, seed: 2 }), randn([B, 4, 4, 4])],
      [new Conv2d(2, 3, 3, { padding: 1, dataFormat: 'NCHW', seed: 3 }), randn([B, 2, 2, 2])],
      [new Embedding(9, 4, { paddingIdx: 2, seed: 4 }), tf.tensor2d([[1, 2, 1], [3, 3, 8], [2, 2, 0]], [B, 3], 'int32')],
    ];
    let ghostNorms = 0;
    for (const [layer, input] of layers) {
      const s = GRAD_SAMPLERS.find((x) => x.matches(layer))!;
      tf.tidy(() => {
        const out = layer.forward(input) as Tensor;
        const g = randn(out.shape);
        const ps = s.perSample(layer, input, g, B);
        const sq = tf.addN(ps.map((t) => tf.sum(tf.square(tf.reshape(t, [B, -1])), 1)));
        const ghost = s.ghostNormSq!(layer, input, g, B);
        if (ghost) {
          ghostNorms++;
          expect(maxRelErr([Array.from(ghost.dataSync())], [Array.from(sq.dataSync())])).toBeLessThan(1e-5);
        }
        const w = tf.tensor1d([0.5, -1, 2]);
        const sums = s.weightedSum!(layer, input, g, w);
        ps.forEach((t, i) => {
          const want = tf.sum(tf.mul(t, tf.reshape(w, [B, ...t.shape.slice(1).map(() => 1)])), 0);
          expect(maxRelErr([Array.from(sums[i]!.dataSync())], [Array.from(want.dataSync())])).toBeLessThan(1e-5);
        });
      });
      tf.dispose(input);
    }
    expect(ghostNorms).toBe(4); // every case here is small enough for the ghost norm
  });
});

describe('ghost clipping and DP-SGD with conv, embedding and norm layers', () => {
  class Mixed extends Module {
    conv = this.registerModule('conv', new Conv2d(2, 3, 3, { padding: 1, seed: 1 }));          // L = 36: materialised norm
    conv2 = this.registerModule('conv2', new Conv2d(3, 4, 3, { stride: 3, padding: 1, seed: 2 })); // L = 4: ghost norm
    gn = this.registerModule('gn', new GroupNorm(2, 4));
    head = this.registerModule('head', new Linear(4, 3, { seed: 3 }));
    forward(x: Tensor) { return tf.tidy(() => this.head.forward(tf.mean(this.gn.forward(tf.relu(this.conv2.forward(tf.tanh(this.conv.forward(x))))), [1, 2]))); }
  }
  const x = randn([6, 6, 6, 2]);
  const y = labels(6, 3);

  it('ghost clipping equals privatizeGradients on loop per-example gradients', () => {
    const model = new Mixed();
    const ps = perSampleGradients(model, perExample, [x, y], { strategy: 'loop' });
    const C = 0.05;
    const ref = privatizeGradients(ps.grads, { maxGradNorm: C, noiseMultiplier: 0 });
    const ghost = ghostClippedGradients(model, perExample, [x, y], { maxGradNorm: C, noiseMultiplier: 0 })!;
    expect(ghost).not.toBeNull();
    expect(maxRelErr([Array.from(ghost.perSampleNorms)], [Array.from(ref.perSampleNorms)])).toBeLessThan(1e-5);
    expect(ghost.clippedFraction).toBe(ref.clippedFraction);
    expect(ref.clippedFraction).toBeGreaterThan(0);
    ghost.grads.forEach((g, k) => expect(maxRelErr([Array.from(g.dataSync())], [Array.from(ref.grads[k]!.dataSync())])).toBeLessThan(1e-5));
    // Seeded noise is drawn per parameter in order, exactly as privatizeGradients draws it.
    const n1 = ghostClippedGradients(model, perExample, [x, y], { maxGradNorm: C, noiseMultiplier: 1.5, seed: 4 })!;
    const n2 = privatizeGradients(ps.grads, { maxGradNorm: C, noiseMultiplier: 1.5, seed: 4 });
    n1.grads.forEach((g, k) => expect(maxRelErr([Array.from(g.dataSync())], [Array.from(n2.grads[k]!.dataSync())])).toBeLessThan(1e-4));
    tf.dispose([...ps.grads, ...ref.grads, ...ghost.grads, ...n1.grads, ...n2.grads]);
  });

  it('with σ = 0 and C = ∞ a DP step equals plain SGD, and nothing leaks', async () => {
    const a = new Mixed(), b = new Mixed();
    const dp = makePrivate(a, new SGD(a, { lr: 0.3 }), new DataLoader([x, y], { batchSize: 6 }), { noiseMultiplier: 0, maxGradNorm: Infinity, poisson: false });
    expect(dp.step([x, y], perExample).method).toBe('ghost');
    new SGD(b, { lr: 0.3 }).minimize(() => crossEntropy(b.forward(x), y));
    a.parameters().forEach((p, i) => expect(maxRelErr([Array.from(p.dataSync())], [Array.from(b.parameters()[i]!.dataSync())])).toBeLessThan(1e-5));

    await expectNoLeak(() => perSampleGradients(a, perExample, [x, y]).grads);
    await expectNoLeak(() => ghostClippedGradients(a, perExample, [x, y], { maxGradNorm: 1, noiseMultiplier: 1, seed: 1 })!.grads);
    const dp2 = makePrivate(a, new SGD(a, { lr: 0.1 }), new DataLoader([x, y], { batchSize: 3 }), { noiseMultiplier: 1, maxGradNorm: 1, seed: 2 });
    await expectNoLeak(() => { dp2.fit(perExample, { epochs: 1 }); });
    const dp3 = makePrivate(a, new SGD(a, { lr: 0.1 }), new DataLoader([x, y], { batchSize: 3 }), { noiseMultiplier: 1, maxGradNorm: 1, seed: 2, clipping: 'per-sample' });
    await expectNoLeak(() => { dp3.fit(perExample, { epochs: 1 }); });
    const idx = tf.tensor2d([[1, 2], [3, 0]], [2, 2], 'int32'), yi = labels(2, 3);
    class E extends Module {
      emb = this.registerModule('emb', new Embedding(5, 3, { seed: 1 }));
      forward(t: Tensor) { return tf.tidy(() => tf.sum(this.emb.forward(t), 1)); }
    }
    const e = new E();
    await expectNoLeak(() => perSampleGradients(e, perExample, [idx, yi]).grads);
    await expectNoLeak(() => ghostClippedGradients(e, perExample, [idx, yi], { maxGradNorm: 1, noiseMultiplier: 0 })!.grads);
    tf.dispose([idx, yi]);
  });
});
