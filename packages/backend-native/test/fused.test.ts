// The fused inference kernels (NutshellLayerNorm / NutshellLinear / NutshellCachedAttention)
// against plain-JS float64 references.
import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import nativeBackend, { CACHED_ATTENTION_KERNEL, LAYER_NORM_KERNEL, LINEAR_KERNEL } from '@nutshell/backend-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availability, expectClose, seeded, skipNote } from './helpers.js';

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor =>
  tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor;

const ACT: Record<string, (x: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(0, x),
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  silu: (x) => x / (1 + Math.exp(-x)),
};

/** Abramowitz–Stegun 7.1.26 is too coarse for 1e-5; a series / continued fraction pair is not: use the series up to |x| < 3, else 1. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 5) return Math.sign(x);
  let sum = 0;
  let term = ax;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-ax * ax) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
}

describe.skipIf(!availability.available)(`native fused inference kernels${skipNote}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
    await tf.setBackend('native');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('NutshellLayerNorm normalises the last axis (with and without beta; gamma is required)', () => {
    const [rows, cols] = [15, 33];
    const x = seeded('ln-x', rows * cols, 3);
    const g = seeded('ln-g', cols);
    const b = seeded('ln-b', cols);
    for (const affine of [true, false]) {
      const want = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const row = x.subarray(r * cols, (r + 1) * cols);
        const mean = row.reduce((a, v) => a + v, 0) / cols;
        const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / cols;
        for (let j = 0; j < cols; j++) {
          const y = (row[j]! - mean) / Math.sqrt(variance + 1e-5);
          want[r * cols + j] = affine ? y * g[j]! + b[j]! : y;
        }
      }
      const got = tf.tidy(() => {
        const inputs: Record<string, tf.Tensor> = { x: tf.tensor(x, [3, 5, cols]), gamma: affine ? tf.tensor1d(g) : tf.ones([cols]) };
        if (affine) inputs.beta = tf.tensor1d(b);
        const y = run(LAYER_NORM_KERNEL, inputs, { epsilon: 1e-5 });
        expect(y.shape).toEqual([3, 5, cols]);
        return y.dataSync().slice();
      });
      expectClose(got, want, 1e-5, `affine=${affine}`);
    }
    expect(() => tf.tidy(() => run(LAYER_NORM_KERNEL, { x: tf.ones([2, 3]) }, {}))).toThrow(/gamma is required/);
  });

  it('NutshellLayerNorm is differentiable (x, gamma, beta) and matches the composed LayerNorm gradient on cpu', async () => {
    const shape = [4, 7, 32];
    const x = seeded('lng-x', 4 * 7 * 32, 2);
    const g = seeded('lng-g', 32);
    const bta = seeded('lng-b', 32);
    const w = seeded('lng-w', 4 * 7 * 32);
    const grads = (fn: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
      tf.tidy(() => {
        const W = tf.tensor(w, shape);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(fn(a, b, c), W));
        return tf.grads(f)([tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(bta)]).map((t) => t.dataSync().slice());
      });
    const got = grads((a, b, c) => run(LAYER_NORM_KERNEL, { x: a, gamma: b, beta: c }, { epsilon: 1e-5 }));
    await tf.setBackend('cpu');
    const want = grads((a, b, c) => {
      const { mean, variance } = tf.moments(a, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(a, mean), tf.rsqrt(tf.add(variance, 1e-5))), b), c);
    });
    await tf.setBackend('native');
    ['dx', 'dgamma', 'dbeta'].forEach((name, i) => expectClose(got[i]!, want[i]!, 1e-5, name));
    // Without beta: the same dx and dgamma.
    const noBeta = tf.tidy(() => {
      const W = tf.tensor(w, shape);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(run(LAYER_NORM_KERNEL, { x: a, gamma: b }, { epsilon: 1e-5 }), W));
      return tf.grads(f)([tf.tensor(x, shape), tf.tensor1d(g)]).map((t) => t.dataSync().slice());
    });
    expectClose(noBeta[0]!, want[0]!, 1e-5, 'dx without beta');
    expectClose(noBeta[1]!, want[1]!, 1e-5, 'dgamma without beta');
    await expectNoLeak(
      () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(run(LAYER_NORM_KERNEL, { x: a, gamma: b }, {}))))([tf.ones([2, 3]), tf.ones([3])])),
      'layerNorm gradient (the unused dbeta is freed)',
    );
  });

  const linearCases: [number, number, number, boolean, string, boolean, boolean][] = [
    // M, K, N, transposeB, activation, bias, residual
    [1, 128, 384, false, 'gelu_new', true, false], // one row: the in-addon gemv
    [1, 64, 65, true, 'linear', false, false], // tied output layer
    [1, 40, 24, false, 'gelu', true, true],
    [7, 33, 17, false, 'relu', true, false], // several rows: sgemm
    [7, 33, 17, true, 'silu', false, true],
    [1, 2048, 2049, false, 'linear', true, false], // one large row: OpenBLAS sgemv
  ];
  for (const [M, K, N, tb, act, withBias, withResidual] of linearCases) {
    it(`NutshellLinear ${M}×${K} · ${tb ? `[${N},${K}]ᵀ` : `[${K},${N}]`}, ${act}${withBias ? ', bias' : ''}${withResidual ? ', residual' : ''}`, () => {
      const x = seeded('x', M * K);
      const w = seeded('w', K * N, 1 / Math.sqrt(K));
      const bias = seeded('b', N);
      const res = seeded('r', M * N);
      const want = new Float32Array(M * N);
      for (let i = 0; i < M; i++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += x[i * K + k]! * (tb ? w[n * K + k]! : w[k * N + n]!);
          if (withBias) s += bias[n]!;
          want[i * N + n] = ACT[act]!(s) + (withResidual ? res[i * N + n]! : 0);
        }
      }
      const got = tf.tidy(() => {
        const inputs: Record<string, tf.Tensor> = { x: tf.tensor(x, [M, K]), weight: tf.tensor(w, tb ? [N, K] : [K, N]) };
        if (withBias) inputs.bias = tf.tensor1d(bias);
        if (withResidual) inputs.residual = tf.tensor(res, [M, N]);
        const y = run(LINEAR_KERNEL, inputs, { transposeB: tb, activation: act });
        expect(y.shape).toEqual([M, N]);
        return y.dataSync().slice();
      });
      expectClose(got, want, 1e-5, 'linear');
    });
  }

  it('NutshellLinear rejects mismatched shapes and unknown activations', () => {
    tf.tidy(() => {
      const x = tf.ones([2, 3]);
      expect(() => run(LINEAR_KERNEL, { x, weight: tf.ones([4, 5]) }, {})).toThrow(/do not multiply/);
      expect(() => run(LINEAR_KERNEL, { x, weight: tf.ones([3, 5]) }, { activation: 'tanh' })).toThrow(/unknown activation/);
      expect(() => run(LINEAR_KERNEL, { x, weight: tf.ones([3, 5]), bias: tf.ones([4]) }, {})).toThrow(/bias/);
    });
  });

  /** Plain-JS causal attention over the whole sequence so far (float64), optionally rotary. */
  function referenceAttention(qkv: Float32Array[], B: number, H: number, d: number, rope: boolean, theta: number): number[][][] {
    // qkv[step] is [B, T_step, 3C]; flatten to per-batch position lists.
    const C = H * d;
    const rows: number[][][] = Array.from({ length: B }, () => []);
    qkv.forEach((chunk) => {
      const T = chunk.length / (B * 3 * C);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) rows[b]!.push([...chunk.subarray((b * T + t) * 3 * C, (b * T + t + 1) * 3 * C)]);
    });
    const rot = (v: number[], pos: number): number[] => {
      if (!rope) return v;
      const half = d / 2;
      const out = [...v];
      for (let i = 0; i < half; i++) {
        const a = pos * theta ** (-(2 * i) / d);
        out[i] = v[i]! * Math.cos(a) - v[i + half]! * Math.sin(a);
        out[i + half] = v[i + half]! * Math.cos(a) + v[i]! * Math.sin(a);
      }
      return out;
    };
    return rows.map((seq) =>
      seq.map((row, pos) => {
        const y: number[] = [];
        for (let h = 0; h < H; h++) {
          const q = rot(row.slice(h * d, (h + 1) * d), pos);
          const scores = seq.slice(0, pos + 1).map((r, j) => rot(r.slice(C + h * d, C + (h + 1) * d), j).reduce((a, kv, i) => a + kv * q[i]!, 0) / Math.sqrt(d));
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const z = e.reduce((a, v) => a + v, 0);
          for (let i = 0; i < d; i++) y.push(seq.slice(0, pos + 1).reduce((a, r, j) => a + (e[j]! / z) * r[2 * C + h * d + i]!, 0));
        }
        return y;
      }),
    );
  }

  for (const rope of [false, true]) {
    it(`NutshellCachedAttention appends in place and attends causally over prefill + steps${rope ? ' (rotary)' : ''}`, () => {
      const [B, H, d, cap] = [2, 3, 4, 10];
      const C = H * d;
      const kCache = tf.zeros([B, H, cap, d]);
      const vCache = tf.zeros([B, H, cap, d]);
      const steps = [4, 1, 2];
      const chunks: Float32Array[] = [];
      const outs: number[][][] = Array.from({ length: B }, () => []);
      let start = 0;
      for (const [i, T] of steps.entries()) {
        const qkv = seeded(`qkv${i}`, B * T * 3 * C);
        chunks.push(qkv);
        const y = tf.tidy(() => run(CACHED_ATTENTION_KERNEL, { qkv: tf.tensor(qkv, [B, T, 3 * C]), kCache, vCache }, { numHeads: H, start, rope, ropeTheta: 100 }));
        expect(y.shape).toEqual([B, T, C]);
        const v = y.dataSync();
        for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) outs[b]!.push([...v.subarray((b * T + t) * C, (b * T + t + 1) * C)]);
        y.dispose();
        start += T;
      }
      const want = referenceAttention(chunks, B, H, d, rope, 100);
      expectClose(outs.flat(2), want.flat(2), 1e-5, 'attention');
      // The values written into the cache buffer are this call's v (no rotation), position by position.
      const vc = vCache.dataSync();
      const lastT = steps.at(-1)!;
      const last = chunks.at(-1)!;
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < d; i++) expect(vc[((1 * H + h) * cap + start - 1) * d + i]).toBe(last[(1 * lastT + lastT - 1) * 3 * C + 2 * C + h * d + i]);
      }
      for (let i = 0; i < d; i++) expect(vc[((0 * H + 0) * cap + start) * d + i]).toBe(0); // past the end: untouched
      kCache.dispose();
      vCache.dispose();
    });
  }

  it('NutshellCachedAttention rejects a full cache, wrong head counts and non-float caches', () => {
    tf.tidy(() => {
      const k = tf.zeros([1, 2, 4, 3]);
      const v = tf.zeros([1, 2, 4, 3]);
      expect(() => run(CACHED_ATTENTION_KERNEL, { qkv: tf.zeros([1, 2, 18]), kCache: k, vCache: v }, { numHeads: 2, start: 3 })).toThrow(/do not fit/);
      expect(() => run(CACHED_ATTENTION_KERNEL, { qkv: tf.zeros([1, 1, 18]), kCache: k, vCache: v }, { numHeads: 3, start: 0 })).toThrow(/heads/);
      const ki = tf.zeros([1, 2, 4, 3], 'int32');
      expect(() => run(CACHED_ATTENTION_KERNEL, { qkv: tf.zeros([1, 1, 18]), kCache: ki, vCache: v }, { numHeads: 2, start: 0 })).toThrow(/float32/);
    });
  });

  it('leaks no tensors', async () => {
    const k = tf.zeros([1, 1, 4, 2]);
    const v = tf.zeros([1, 1, 4, 2]);
    await expectNoLeak(() => tf.tidy(() => [
      run(LAYER_NORM_KERNEL, { x: tf.ones([2, 3]), gamma: tf.ones([3]) }, {}),
      run(LINEAR_KERNEL, { x: tf.ones([2, 3]), weight: tf.ones([3, 4]), bias: tf.ones([4]) }, { activation: 'relu' }),
      run(CACHED_ATTENTION_KERNEL, { qkv: tf.ones([1, 2, 6]), kCache: k, vCache: v }, { numHeads: 1, start: 0 }),
    ]), 'fused kernels');
    k.dispose();
    v.dispose();
  });
});
