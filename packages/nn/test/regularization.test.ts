import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Conv2d, Linear, SpectralNorm, init, l1Penalty, l2Penalty, valueAndGrads } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { expectClose } from './helpers.js';

/** Largest singular value by many JS power iterations (independent reference). */
function sigmaMax(w: Float32Array | Int32Array | Uint8Array, rows: number, cols: number): number {
  let v = new Float64Array(cols).fill(1);
  let s = 0;
  for (let it = 0; it < 500; it++) {
    const u = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) u[r]! += w[r * cols + c]! * v[c]!;
    const nv = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) nv[c]! += w[r * cols + c]! * u[r]!;
    s = Math.sqrt(Math.hypot(...nv) / Math.hypot(...v));
    const n = Math.hypot(...nv);
    v = nv.map((x) => x / n);
  }
  return s;
}

describe('regularization', () => {
  it('L1 / L2 penalties', () => {
    const lin = new Linear(2, 1, { seed: 1 });
    lin.loadStateDict({ weight: tf.tensor([[1, -2]]), bias: tf.tensor([3]) });
    expect(l1Penalty(lin, 0.5).dataSync()[0]).toBeCloseTo(3, 6);
    expect(l2Penalty(lin, 0.5).dataSync()[0]).toBeCloseTo(7, 6);
  });

  it('SpectralNorm converges to the largest singular value; normalised weight has norm 1', async () => {
    const lin = new Linear(6, 5, { seed: 2 });
    const sn = new SpectralNorm(lin, { seed: 3 });
    const x = tf.eye(6);
    for (let i = 0; i < 60; i++) sn.forward(x).dispose();
    const ref = sigmaMax(lin.weight.dataSync(), 5, 6);
    expect(sn.sigma()).toBeCloseTo(ref, 4);
    sn.eval();
    // y = I·(W/σ)ᵀ + b, so (y − b)ᵀ is the normalised weight
    const wn = tf.transpose(tf.sub(sn.forward(x), lin.bias!));
    expect(sigmaMax(wn.dataSync(), 5, 6)).toBeCloseTo(1, 3);
    expect(sn.namedBuffers().map(([n]) => n)).toEqual(['weight_u', 'weight_v']);
    await expectNoLeak(() => {
      const { value, grads } = valueAndGrads(() => tf.sum(sn.forward(x)), sn);
      return [value, [...grads.values()]];
    });
  });

  it('SpectralNorm wraps Conv2d', () => {
    const conv = new Conv2d(2, 3, 3, { seed: 1 });
    const sn = new SpectralNorm(conv, { powerIterations: 20 });
    expect(sn.forward(tf.ones([1, 5, 5, 2])).shape).toEqual([1, 3, 3, 3]);
    expect(sn.sigma()).toBeCloseTo(sigmaMax(conv.weight.dataSync(), 3, 18), 3);
  });
});

describe('initializers', () => {
  it('are seeded and have the documented statistics', () => {
    const a = init.kaimingNormal([400, 300], { nonlinearity: 'relu', seed: 1 }).dataSync();
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(2e-3);
    expect(std).toBeCloseTo(Math.sqrt(2 / 300), 3);
    const b = init.xavierUniform([200, 100], 1, 5).dataSync();
    expect(Math.max(...b)).toBeLessThanOrEqual(Math.sqrt(6 / 300));
    expect(Array.from(init.xavierUniform([200, 100], 1, 5).dataSync())).toEqual(Array.from(b));
    const t = init.truncatedNormal([5000], 0, 1, -0.5, 0.5, 2).dataSync();
    expect(Math.max(...t.map(Math.abs))).toBeLessThanOrEqual(0.5);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    expect(init.computeFans([8, 4, 3, 3])).toEqual({ fanIn: 36, fanOut: 72 });
  });

  it('orthogonal gives orthonormal rows (wide) or columns (tall)', () => {
    for (const shape of [[3, 5], [6, 4]] as const) {
      const q = init.orthogonal(shape, 1, 4);
      const g = shape[0] < shape[1] ? tf.matMul(q, q, false, true) : tf.matMul(q, q, true, false);
      expectClose(g, tf.eye(Math.min(...shape)), { atol: 1e-5 });
    }
  });
});
