import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { ghostClippedGradients, makePrivate, perSampleGradients, privatizeGradients, rdpEpsilon, getNoiseMultiplier } from '@nutshell/ethics-audit';
import { BatchNorm1d, DataLoader, Linear, MLP, Module, SGD, Sequential, crossEntropy, valueAndGrads, type Module as M } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

const rng = new Rng('dp-nn');
const X = tf.tensor2d(Array.from({ length: 12 * 5 }, () => rng.normal()), [12, 5]);
const Y = tf.tensor1d(Array.from({ length: 12 }, (_, i) => i % 3), 'int32');
const perExample = (m: M, [x, y]: Tensor[]) => crossEntropy(m.forward(x!), y!, { reduction: 'none' });
const meanLoss = (m: M, [x, y]: Tensor[]) => crossEntropy(m.forward(x!), y!);

/** Reference: each example's gradient from its own batch-1 backward pass. */
function oneAtATime(model: M, x: Tensor, y: Tensor): number[][][] {
  const params = model.parameters();
  const out: number[][][] = params.map(() => []);
  for (let i = 0; i < x.shape[0]!; i++) {
    const xi = tf.slice(x, [i], [1]), yi = tf.slice(y, [i], [1]);
    const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(xi), yi), params);
    params.forEach((p, k) => out[k]!.push(Array.from(grads.get(p)!.dataSync())));
    tf.dispose([xi, yi, value, ...grads.values()]);
  }
  return out;
}

function rows(t: Tensor): number[][] {
  const B = t.shape[0]!, d = t.dataSync(), n = d.length / B;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * n, (b + 1) * n)));
}

function expectClose(a: number[][], b: number[][], tol = 1e-5) {
  expect(a.length).toBe(b.length);
  a.forEach((r, i) => r.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(tol * (1 + Math.abs(b[i]![j]!)))));
}

describe('per-example gradients', () => {
  it('vectorized and loop strategies equal gradients computed one example at a time', () => {
    const model = new MLP({ sizes: [5, 7, 3], activation: 'tanh', seed: 1 });
    const ref = oneAtATime(model, X, Y);
    for (const strategy of ['vectorized', 'loop'] as const) {
      const r = perSampleGradients(model, perExample, [X, Y], { strategy });
      expect(r.strategy).toBe(strategy);
      expect(r.grads.map((g) => g.shape)).toEqual(model.parameters().map((p) => [12, ...p.shape]));
      r.grads.forEach((g, k) => expectClose(rows(g), ref[k]!));
      tf.dispose(r.grads);
    }
    // A scalar mean loss gives the same per-example gradients (scaled back by B).
    const s = perSampleGradients(model, meanLoss, [X, Y]);
    expect(s.strategy).toBe('vectorized');
    s.grads.forEach((g, k) => expectClose(rows(g), ref[k]!));
    tf.dispose(s.grads);
  });

  it('handles sequence inputs to Linear (sum over time) and falls back to the loop for layers without a grad sampler', () => {
    class SeqNet extends Module {
      lin = this.registerModule('lin', new Linear(4, 2, { seed: 3 }));
      forward(x: Tensor) { return tf.tidy(() => tf.sum(this.lin.forward(x), 1)); }
    }
    const model = new SeqNet();
    const x = tf.tensor3d(Array.from({ length: 5 * 3 * 4 }, () => rng.normal()), [5, 3, 4]);
    const y = tf.tensor1d([0, 1, 1, 0, 1], 'int32');
    const loss = (m: M, [a, b]: Tensor[]) => crossEntropy(m.forward(a!), b!, { reduction: 'none' });
    const v = perSampleGradients(model, loss, [x, y], { strategy: 'vectorized' });
    const l = perSampleGradients(model, loss, [x, y], { strategy: 'loop' });
    v.grads.forEach((g, k) => expectClose(rows(g), rows(l.grads[k]!)));
    expect(v.loss).toBeCloseTo(l.loss, 5);
    tf.dispose([...v.grads, ...l.grads, x, y]);

    // A layer without a grad sampler (a raw parameter) needs the loop.
    class Scale extends Module {
      s = this.registerParameter('s', tf.fill([4], 1.5));
      forward(x: Tensor) { return tf.mul(x, this.s); }
    }
    const ln = new Sequential(new Linear(5, 4, { seed: 1 }), new Scale(), new Linear(4, 3, { seed: 2 }));
    const auto = perSampleGradients(ln, perExample, [X, Y]);
    expect(auto.strategy).toBe('loop');
    const ref = oneAtATime(ln, X, Y);
    auto.grads.forEach((g, k) => expectClose(rows(g), ref[k]!));
    tf.dispose(auto.grads);
    expect(() => perSampleGradients(ln, perExample, [X, Y], { strategy: 'vectorized' })).toThrow(InvalidArgumentError);
  });

  it('does not leak tensors', async () => {
    const model = new MLP({ sizes: [5, 4, 3], seed: 2 });
    await expectNoLeak(() => perSampleGradients(model, perExample, [X, Y]).grads);
    await expectNoLeak(() => perSampleGradients(model, perExample, [X, Y], { strategy: 'loop' }).grads);
  });
});

describe('makePrivate (DP-SGD for nn models)', () => {
  for (const clipping of ['ghost', 'per-sample'] as const) {
    it(`with σ = 0 and C = ∞ one DP step equals a plain SGD step (${clipping} clipping)`, () => {
      const a = new MLP({ sizes: [5, 6, 3], seed: 4 }), b = new MLP({ sizes: [5, 6, 3], seed: 4 });
      const loader = new DataLoader([X, Y], { batchSize: 12 });
      const dp = makePrivate(a, new SGD(a, { lr: 0.5 }), loader, { noiseMultiplier: 0, maxGradNorm: Infinity, poisson: false, clipping });
      const batch = [X, Y];
      dp.step(batch, perExample);
      new SGD(b, { lr: 0.5 }).minimize(() => meanLoss(b, batch));
      a.parameters().forEach((p, i) => expectClose([Array.from(p.dataSync())], [Array.from(b.parameters()[i]!.dataSync())], 1e-5));
      expect(dp.getEpsilon()).toBe(Infinity);
    });
  }

  it('ghost clipping equals materialised per-example clipping, also for sequence inputs', () => {
    class SeqNet extends Module {
      a = this.registerModule('a', new Linear(4, 6, { seed: 3 }));
      b = this.registerModule('b', new Linear(6, 2, { seed: 4 }));
      forward(x: Tensor) { return tf.tidy(() => tf.mean(this.b.forward(tf.tanh(this.a.forward(x))), 1)); }
    }
    const model = new SeqNet();
    const x = tf.tensor3d(Array.from({ length: 6 * 3 * 4 }, () => rng.normal()), [6, 3, 4]);
    const y = tf.tensor1d([0, 1, 1, 0, 1, 0], 'int32');
    const loss = (m: M, [p, q]: Tensor[]) => crossEntropy(m.forward(p!), q!, { reduction: 'none' });
    const ps = perSampleGradients(model, loss, [x, y]);
    const C = 0.3;
    const ref = privatizeGradients(ps.grads, { maxGradNorm: C, noiseMultiplier: 0 });
    const ghost = ghostClippedGradients(model, loss, [x, y], { maxGradNorm: C, noiseMultiplier: 0 })!;
    expectClose([Array.from(ghost.perSampleNorms)], [Array.from(ref.perSampleNorms)], 1e-4);
    expect(ghost.clippedFraction).toBe(ref.clippedFraction);
    ghost.grads.forEach((g, k) => expectClose([Array.from(g.dataSync())], [Array.from(ref.grads[k]!.dataSync())], 1e-4));
    // With noise: same noise scale (σC/B per coordinate), seeded.
    const n1 = ghostClippedGradients(model, loss, [x, y], { maxGradNorm: C, noiseMultiplier: 2, seed: 9 })!;
    const n2 = ghostClippedGradients(model, loss, [x, y], { maxGradNorm: C, noiseMultiplier: 2, seed: 9 })!;
    expect(Array.from(n1.grads[0]!.dataSync())).toEqual(Array.from(n2.grads[0]!.dataSync()));
    tf.dispose([...ps.grads, ...ref.grads, ...ghost.grads, ...n1.grads, ...n2.grads, x, y]);
    class Scale extends Module {
      s = this.registerParameter('s', tf.ones([4]));
      forward(v: Tensor) { return tf.mul(v, this.s); }
    }
    expect(ghostClippedGradients(new Sequential(new Linear(5, 4), new Scale()), perExample, [X, Y], { maxGradNorm: 1, noiseMultiplier: 0 })).toBeNull();
  });

  it('clips every example to C: with σ = 0 the update is the mean of clipped per-example gradients', () => {
    const model = new MLP({ sizes: [5, 6, 3], seed: 5 });
    const before = model.parameters().map((p) => Array.from(p.dataSync()));
    const ps = perSampleGradients(model, perExample, [X, Y]);
    const C = 0.05;
    const norms = Array.from({ length: 12 }, (_, i) => Math.sqrt(ps.grads.reduce((s, g) => s + rows(g)[i]!.reduce((t, v) => t + v * v, 0), 0)));
    expect(Math.min(...norms)).toBeGreaterThan(C); // every example is clipped here
    const expected = ps.grads.map((g) => {
      const r = rows(g);
      return r[0]!.map((_, j) => r.reduce((s, row, i) => s + row[j]! * Math.min(1, C / (norms[i]! + 1e-6)), 0) / 12);
    });
    tf.dispose(ps.grads);
    const dp = makePrivate(model, new SGD(model, { lr: 1 }), new DataLoader([X, Y], { batchSize: 12 }), { noiseMultiplier: 0, maxGradNorm: C, poisson: false });
    const r = dp.step([X, Y], perExample);
    expect(r.clippedFraction).toBe(1);
    model.parameters().forEach((p, k) => {
      const step = Array.from(p.dataSync()).map((v, j) => before[k]![j]! - v);
      expectClose([step], [expected[k]!], 1e-4);
    });
    // The whole update is an average of vectors of norm ≤ C.
    const total = Math.sqrt(model.parameters().reduce((s, p, k) => s + Array.from(p.dataSync()).reduce((t, v, j) => t + (before[k]![j]! - v) ** 2, 0), 0));
    expect(total).toBeLessThanOrEqual(C + 1e-6);
  });

  it('reports the accountant ε for the steps taken, and targetEpsilon keeps the run within budget', () => {
    const model = new MLP({ sizes: [5, 4, 3], seed: 6 });
    const loader = new DataLoader([X, Y], { batchSize: 3 });
    const dp = makePrivate(model, new SGD(model, { lr: 0.1 }), loader, { noiseMultiplier: 1.1, maxGradNorm: 1, delta: 1e-5, seed: 1 });
    expect(dp.sampleRate).toBe(0.25);
    expect(dp.stepsPerEpoch).toBe(4);
    const { steps, epsilon } = dp.fit(perExample, { epochs: 3 });
    expect(steps.length).toBe(12);
    expect(dp.steps).toBe(12);
    expect(epsilon).toBe(rdpEpsilon(0.25, 1.1, 12, 1e-5).epsilon);
    expect(dp.getEpsilon(1e-3)).toBe(rdpEpsilon(0.25, 1.1, 12, 1e-3).epsilon);
    // Poisson batches vary in size around q·N = 3.
    expect(new Set(steps.map((s) => s.batchSize)).size).toBeGreaterThan(1);

    const m2 = new MLP({ sizes: [5, 4, 3], seed: 6 });
    const t = makePrivate(m2, new SGD(m2, { lr: 0.1 }), loader, { targetEpsilon: 3, epochs: 5, maxGradNorm: 1 });
    expect(t.noiseMultiplier).toBe(getNoiseMultiplier({ targetEpsilon: 3, targetDelta: 1e-5, sampleRate: 0.25, steps: 20 }));
    t.fit(perExample, { epochs: 5 });
    expect(t.getEpsilon()).toBeLessThanOrEqual(3);
    expect(t.getEpsilon()).toBeGreaterThan(2.9);
  });

  it('refuses BatchNorm models and bad options with typed errors; training does not leak', async () => {
    const bn = new Sequential(new Linear(5, 4), new BatchNorm1d(4));
    const loader = new DataLoader([X, Y], { batchSize: 4 });
    expect(() => makePrivate(bn, new SGD(bn, { lr: 0.1 }), loader, { noiseMultiplier: 1, maxGradNorm: 1 })).toThrow(/BatchNorm1d/);
    const m = new MLP({ sizes: [5, 4, 3], seed: 7 });
    const opt = new SGD(m, { lr: 0.1 });
    expect(() => makePrivate(m, opt, loader, { maxGradNorm: 1 })).toThrow(InvalidArgumentError);
    expect(() => makePrivate(m, opt, loader, { noiseMultiplier: 1, maxGradNorm: 0 })).toThrow(InvalidArgumentError);
    expect(() => makePrivate(m, opt, loader, { targetEpsilon: 1, maxGradNorm: 1 })).toThrow(/epochs/);
    const dp = makePrivate(m, opt, loader, { noiseMultiplier: 1, maxGradNorm: 1, seed: 3 });
    await expectNoLeak(() => { dp.fit(perExample, { epochs: 1 }); });
    const dp2 = makePrivate(m, opt, loader, { noiseMultiplier: 1, maxGradNorm: 1, seed: 3, clipping: 'per-sample' });
    await expectNoLeak(() => { dp2.fit(perExample, { epochs: 1 }); });
  });
});
