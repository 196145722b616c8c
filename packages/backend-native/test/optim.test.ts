// The fused Adam/AdamW kernel (NutshellAdam) against a plain-JS float64 restatement of
// torch.optim.Adam(W)'s update; its outputs never alias its inputs (tfjs tensors are immutable).
import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import nativeBackend, { ADAM_KERNEL } from '@nutshell/backend-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availability, expectClose, seeded, skipNote } from './helpers.js';

const adam = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor[] =>
  tf.engine().runKernel(ADAM_KERNEL, inputs, attrs as never) as tf.Tensor[];

/** float64 reference of `steps` updates with the same gradients each step (PyTorch's formulas). */
function reference(p0: Float32Array, grads: Float32Array[], o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean }) {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, s) => {
    const step = s + 1;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i]!;
      if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.weightDecay);
      else gi += o.weightDecay * p[i]!;
      m[i] = o.beta1 * m[i]! + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i]! + (1 - o.beta2) * gi * gi;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - o.beta2 ** step) + o.eps;
      p[i] = p[i]! - (o.lr / (1 - o.beta1 ** step)) * (m[i]! / denom);
    }
  });
  return { p, m, v };
}

describe.skipIf(!availability.available)(`native fused Adam kernel${skipNote}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
    await tf.setBackend('native');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const decoupled of [true, false]) {
    it(`matches the float64 update over 5 steps (${decoupled ? 'AdamW' : 'Adam with L2'})`, () => {
      const n = 1000;
      const o = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, decoupled };
      const p0 = seeded('p', n);
      const grads = Array.from({ length: 5 }, (_, s) => seeded(`g${s}`, n, 0.5));
      let p = tf.tensor1d(p0);
      let m = tf.zeros([n]);
      let v = tf.zeros([n]);
      grads.forEach((g, s) => {
        const gt = tf.tensor1d(g);
        const out = adam({ param: p, grad: gt, m, v }, { ...o, step: s + 1 });
        tf.dispose([p, m, v, gt]);
        [p, m, v] = out as [tf.Tensor, tf.Tensor, tf.Tensor];
      });
      const ref = reference(p0, grads, o);
      expectClose(p.dataSync(), ref.p, 1e-6, 'param');
      expectClose(m.dataSync(), ref.m, 1e-6, 'm');
      expectClose(v.dataSync(), ref.v, 1e-6, 'v');
      // the update moved the weights by much more than the tolerance (the check is not vacuous)
      expect(Math.max(...p.dataSync().map((x, i) => Math.abs(x - p0[i]!)))).toBeGreaterThan(0.03);
      tf.dispose([p, m, v]);
    });
  }

  it('writes fresh outputs and leaves every input (and arrays aliasing them) unchanged', () => {
    const attrs = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true, step: 1 };
    const init = Float32Array.of(1, 2, 3);
    const p = tf.tensor1d(init); // on this backend the tensor's storage is `init` itself
    const view = tf.reshape(p, [3, 1]); // shares p's storage: p must not change
    const m = tf.zeros([3]);
    const v = tf.zeros([3]);
    const g = tf.tensor1d([1, -1, 2]);
    const [p1, m1, v1] = adam({ param: p, grad: g, m, v }, attrs) as [tf.Tensor, tf.Tensor, tf.Tensor];
    expect(Array.from(p.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(view.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(init)).toEqual([1, 2, 3]);
    expect(Array.from(m.dataSync())).toEqual([0, 0, 0]);
    for (const [o, i] of [[p1, p], [m1, m], [v1, v]] as const) expect(o.dataId).not.toBe(i.dataId);
    expectClose(p1.dataSync(), [0.9, 2.1, 2.9], 1e-6, 'p1'); // first Adam step moves each weight by lr·sign(g)
    expectClose(m1.dataSync(), [0.1, -0.1, 0.2], 1e-6, 'm1');
    expectClose(v1.dataSync(), [0.001, 0.001, 0.004], 1e-6, 'v1');
    tf.dispose([m, v]);
    tf.dispose([p, view, g, p1, m1, v1]);
  });

  it('leaks nothing when the old state is disposed', async () => {
    await expectNoLeak(() => {
      const init = tf.tensor1d(seeded('pv', 64));
      const p = tf.variable(init);
      init.dispose();
      let m = tf.zerosLike(p);
      let v = tf.zerosLike(p);
      for (let step = 1; step <= 3; step++) {
        const g = tf.tensor1d(seeded(`gv${step}`, 64));
        const [np, nm, nv] = adam({ param: p, grad: g, m, v }, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, step });
        p.assign(np!);
        tf.dispose([np!, m, v, g]);
        [m, v] = [nm!, nv!];
      }
      tf.dispose([p, m, v]);
    });
  });

  it('rejects mismatched shapes and dtypes', () => {
    const p = tf.zeros([4]);
    const bad = tf.zeros([5]);
    const i = tf.zeros([4], 'int32');
    const attrs = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
    expect(() => adam({ param: p, grad: bad, m: p, v: p }, attrs)).toThrow(/grad has shape/);
    expect(() => adam({ param: p, grad: i, m: p, v: p }, attrs)).toThrow(/float32/);
    expect(() => adam({ param: p, grad: p, m: p, v: p }, { ...attrs, step: 0 })).toThrow(/step/);
    tf.dispose([p, bad, i]);
  });
});
