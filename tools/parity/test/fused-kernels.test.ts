// The fused training kernels of @nutshell/core's contract (causal attention, activations,
// LayerNorm and GroupNorm, forward and backward; the Adam update is checked in nn's fused-adam
// test) on every backend that implements them (native in C, wasm in AssemblyScript), against
// float64 references in plain JS and finite differences of them.
import { FUSED_KERNELS, Rng, fusedActivation, fusedCausalAttention, fusedGroupNorm, fusedLayerNorm, hasFusedKernel, tf, type FusedActivation } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { probeBackend } from '@nutshell/parity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const required = new Set((process.env.NUTSHELL_REQUIRE_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean));

function seeded(seed: string, size: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * scale;
  return out;
}

/** Causal attention of qkv [B, T, 3·H·d] in float64: y [B, T, H·d] and lse [B, H, T]. */
function attentionRef(qkv: ArrayLike<number>, B: number, T: number, H: number, d: number, scale: number): { y: Float64Array; lse: Float64Array } {
  const C = H * d;
  const y = new Float64Array(B * T * C);
  const lse = new Float64Array(B * H * T);
  const at = (b: number, t: number, part: number, h: number, i: number) => qkv[(b * T + t) * 3 * C + part * C + h * d + i]!;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const s: number[] = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += at(b, i, 0, h, e) * at(b, j, 1, h, e);
          s.push(dot * scale);
        }
        const m = Math.max(...s);
        const sum = s.reduce((acc, v) => acc + Math.exp(v - m), 0);
        lse[(b * H + h) * T + i] = m + Math.log(sum);
        for (let j = 0; j <= i; j++) {
          const p = Math.exp(s[j]! - m) / sum;
          for (let e = 0; e < d; e++) y[(b * T + i) * C + h * d + e] += p * at(b, j, 2, h, e);
        }
      }
    }
  }
  return { y, lse };
}

const ACT: Record<FusedActivation, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  silu: (x) => x / (1 + Math.exp(-x)),
};

/** erf in float64: the Maclaurin series below |x| = 2, erfc's continued fraction above (both exact to ~1e-15 there). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 2) {
    let f = ax; // x + (1/2)/(x + 1/(x + (3/2)/(x + ...))), evaluated from the tail
    for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
    return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
  }
  let sum = 0;
  let term = ax;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-ax * ax) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
}

/** Largest gap between `got` and central differences (step h) of the float64 `loss` around `at`. */
function worstCentralDifference(loss: (v: Float64Array) => number, at: Float64Array, got: ArrayLike<number>, h = 1e-5): number {
  let worst = 0;
  for (let i = 0; i < at.length; i++) {
    const keep = at[i]!;
    at[i] = keep + h;
    const up = loss(at);
    at[i] = keep - h;
    const down = loss(at);
    at[i] = keep;
    worst = Math.max(worst, Math.abs((up - down) / (2 * h) - got[i]!));
  }
  return worst;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const name of ['native', 'wasm']) {
  const probe = await probeBackend(name);
  if (!probe.available) {
    if (required.has(name)) it(`${name} is required (NUTSHELL_REQUIRE_BACKENDS) but unavailable`, () => { throw new Error(probe.reason); });
    else it.skip(`${name} fused kernels skipped — unavailable: ${probe.reason}`, () => {});
    continue;
  }
  describe(`fused training kernels on ${name}`, () => {
    beforeAll(async () => {
      await probe.plugin!.setup();
      await tf.setBackend(name);
      for (const k of Object.values(FUSED_KERNELS)) expect(hasFusedKernel(k), k).toBe(true);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    for (const [B, T, H, d] of [[2, 5, 2, 3], [1, 1, 1, 4], [3, 17, 4, 9], [2, 64, 4, 32]] as const) {
      it(`${name}: NutshellAttention [B ${B}, T ${T}, H ${H}, d ${d}] equals causal softmax attention in float64 (y and lse)`, () => {
        const C = H * d;
        const data = seeded(`attn-${B}-${T}-${H}-${d}`, B * T * 3 * C);
        const scale = 1 / Math.sqrt(d);
        const ref = attentionRef(data, B, T, H, d, scale);
        tf.tidy(() => {
          const [y, lse] = tf.engine().runKernel(FUSED_KERNELS.attention, { qkv: tf.tensor3d(data, [B, T, 3 * C]) }, { numHeads: H, scale } as never) as tf.Tensor[];
          expect(y!.shape).toEqual([B, T, C]);
          expect(lse!.shape).toEqual([B, H, T]);
          expect(maxAbsDiff(y!.dataSync(), ref.y)).toBeLessThan(2e-6);
          expect(maxAbsDiff(lse!.dataSync(), ref.lse)).toBeLessThan(2e-5);
        });
      });
    }

    it(`${name}: NutshellAttention: the first query sees only itself, so y at t = 0 is v at t = 0`, () => {
      tf.tidy(() => {
        const qkv = tf.tensor3d(seeded('first', 2 * 6 * 12), [2, 6, 12]);
        const y = fusedCausalAttention(qkv, 2, 0.5);
        const v0 = tf.slice(qkv, [0, 0, 8], [2, 1, 4]);
        expect(maxAbsDiff(tf.slice(y, [0, 0, 0], [2, 1, 4]).dataSync(), v0.dataSync())).toBeLessThan(1e-6);
      });
    });

    it(`${name}: the attention gradient matches central finite differences of the float64 reference`, () => {
      const [B, T, H, d] = [2, 5, 2, 3];
      const C = H * d;
      const scale = 0.7;
      const data = seeded('attn-grad', B * T * 3 * C);
      const w = seeded('attn-grad-w', B * T * C);
      // Loss L(qkv) = Σ y·w, whose gradient is the kernel's output for dy = w.
      const loss = (q: ArrayLike<number>) => attentionRef(q, B, T, H, d, scale).y.reduce((acc, v, i) => acc + v * w[i]!, 0);
      const grad = tf.tidy(() => {
        const g = tf.grad((q: tf.Tensor) => tf.sum(tf.mul(fusedCausalAttention(q, H, scale), tf.tensor3d(w, [B, T, C]))));
        return g(tf.tensor3d(data, [B, T, 3 * C])).dataSync();
      });
      expect(worstCentralDifference(loss, Float64Array.from(data), grad)).toBeLessThan(1e-4);
    });

    it(`${name}: the attention gradient equals the composed graph’s (split, heads, masked softmax) on a GPT-sized batch`, () => {
      const [B, T, H, d] = [3, 64, 4, 32];
      const C = H * d;
      const scale = 1 / Math.sqrt(d);
      tf.tidy(() => {
        const qkv = tf.tensor3d(seeded('attn-composed', B * T * 3 * C), [B, T, 3 * C]);
        const w = tf.tensor3d(seeded('attn-composed-w', B * T * C), [B, T, C]);
        const composed = (x: tf.Tensor) => {
          const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, d]), [0, 2, 1, 3]);
          const [q, k, v] = tf.split(x, 3, 2).map(heads) as [tf.Tensor, tf.Tensor, tf.Tensor];
          const mask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9);
          const p = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), mask));
          return tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [B, T, C]);
        };
        const gFused = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fusedCausalAttention(x, H, scale), w)))(qkv);
        const gComposed = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(composed(x), w)))(qkv);
        expect(maxAbsDiff(gFused.dataSync(), gComposed.dataSync())).toBeLessThan(1e-5);
      });
    });

    for (const act of ['gelu_new', 'gelu', 'silu', 'relu'] as const) {
      it(`${name}: NutshellActivation ${act}: values and gradient against float64 formulas and finite differences`, () => {
        const n = 4097; // odd: exercises the vector loops' remainders
        const xs = seeded(`act-${act}`, n, 3);
        const f = ACT[act];
        tf.tidy(() => {
          const x = tf.tensor1d(xs);
          const y = fusedActivation(x, act).dataSync();
          const g = tf.grad((t: tf.Tensor) => fusedActivation(t, act))(x).dataSync();
          let worstY = 0;
          let worstG = 0;
          for (let i = 0; i < n; i++) {
            const v = xs[i]!;
            worstY = Math.max(worstY, Math.abs(y[i]! - f(v)) / Math.max(1, Math.abs(f(v))));
            if (act === 'relu' && Math.abs(v) < 3e-3) continue; // the stencil would straddle the kink
            // Five-point stencil: truncation ~h⁴, and the erf series' rounding is not blown up by a tiny h.
            const h = 1e-3;
            const fd = (f(v - 2 * h) - 8 * f(v - h) + 8 * f(v + h) - f(v + 2 * h)) / (12 * h);
            worstG = Math.max(worstG, Math.abs(g[i]! - fd));
          }
          expect(worstY).toBeLessThan(1e-6);
          expect(worstG).toBeLessThan(2e-6);
        });
      });
    }

    it(`${name}: NutshellLayerNorm forward and its gradients (x, gamma, beta) against float64 and finite differences`, () => {
      const [rows, cols] = [6, 13];
      const xs = seeded('ln-x', rows * cols, 2);
      const gs = seeded('ln-g', cols);
      const bs = seeded('ln-b', cols);
      const w = seeded('ln-w', rows * cols);
      const eps = 1e-5;
      // L = Σ w · LayerNorm(x; gamma, beta) in float64, over the concatenated (x, gamma, beta).
      const loss = (v: Float64Array) => {
        let total = 0;
        for (let r = 0; r < rows; r++) {
          const row = v.subarray(r * cols, (r + 1) * cols);
          const mean = row.reduce((a, b) => a + b, 0) / cols;
          const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / cols;
          for (let j = 0; j < cols; j++) total += w[r * cols + j]! * (((row[j]! - mean) / Math.sqrt(variance + eps)) * v[rows * cols + j]! + v[rows * cols + cols + j]!);
        }
        return total;
      };
      tf.tidy(() => {
        const x = tf.tensor2d(xs, [rows, cols]);
        const gamma = tf.tensor1d(gs);
        const beta = tf.tensor1d(bs);
        const wt = tf.tensor2d(w, [rows, cols]);
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fusedLayerNorm(a, g, b, eps), wt));
        const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, gamma, beta]).map((t) => Array.from(t.dataSync()));
        const got = [...grads[0]!, ...grads[1]!, ...grads[2]!];
        const v = Float64Array.from([...xs, ...gs, ...bs]);
        expect(Math.abs(f(x, gamma, beta).dataSync()[0]! - loss(v))).toBeLessThan(1e-4);
        expect(worstCentralDifference(loss, v, got)).toBeLessThan(1e-4);
      });
    });

    it(`${name}: NutshellGroupNorm (channels last) forward and gradients against float64 and finite differences`, () => {
      const [N, S, C, G] = [2, 5, 6, 3];
      const Cg = C / G;
      const xs = seeded('gn-x', N * S * C, 2);
      const gs = seeded('gn-g', C);
      const bs = seeded('gn-b', C);
      const w = seeded('gn-w', N * S * C);
      const eps = 1e-5;
      const size = N * S * C;
      // L = Σ w · GroupNorm(x; gamma, beta) in float64, over the concatenated (x, gamma, beta).
      const loss = (v: Float64Array) => {
        let total = 0;
        for (let n = 0; n < N; n++) {
          for (let g = 0; g < G; g++) {
            const idx: number[] = [];
            for (let s = 0; s < S; s++) for (let c = 0; c < Cg; c++) idx.push((n * S + s) * C + g * Cg + c);
            const mean = idx.reduce((a, i) => a + v[i]!, 0) / idx.length;
            const variance = idx.reduce((a, i) => a + (v[i]! - mean) ** 2, 0) / idx.length;
            for (const i of idx) {
              const c = i % C;
              total += w[i]! * (((v[i]! - mean) / Math.sqrt(variance + eps)) * v[size + c]! + v[size + C + c]!);
            }
          }
        }
        return total;
      };
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [N, 1, S, C]);
        const gamma = tf.tensor1d(gs);
        const beta = tf.tensor1d(bs);
        const wt = tf.tensor4d(w, [N, 1, S, C]);
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fusedGroupNorm(a, g, b, G, eps), wt));
        const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, gamma, beta]).map((t) => Array.from(t.dataSync()));
        const got = [...grads[0]!, ...grads[1]!, ...grads[2]!];
        const v = Float64Array.from([...xs, ...gs, ...bs]);
        expect(Math.abs(f(x, gamma, beta).dataSync()[0]! - loss(v))).toBeLessThan(1e-4);
        expect(worstCentralDifference(loss, v, got)).toBeLessThan(1e-4);
        expect(() => fusedGroupNorm(tf.zeros([2, 3, 5]), tf.ones([5]), null, 2, eps)).toThrow(/5 channels do not split into 2 groups/);
      });
    });

    it(`${name}: rejects bad heads, shapes, dtypes and activations with messages that say what was expected`, () => {
      tf.tidy(() => {
        expect(() => fusedCausalAttention(tf.zeros([1, 2, 18]), 4, 1)).toThrow(/does not split into q, k, v of 4 heads/);
        expect(() => fusedCausalAttention(tf.zeros([2, 18]), 1, 1)).toThrow(/qkv must be \[B, T, 3·C\]/);
        expect(() => fusedCausalAttention(tf.zeros([1, 2, 6], 'int32'), 1, 1)).toThrow(/float32/);
        expect(() => fusedActivation(tf.zeros([3]), 'tanh' as FusedActivation)).toThrow(/activation must be one of gelu_new, gelu, silu, relu/);
        expect(() => tf.engine().runKernel(FUSED_KERNELS.attentionGrad, { dy: tf.zeros([1, 2, 5]), qkv: tf.zeros([1, 2, 18]), y: tf.zeros([1, 2, 6]), lse: tf.zeros([1, 2, 2]) }, { numHeads: 2, scale: 1 } as never)).toThrow(/expected dy and y/);
      });
    });

    it(`${name}: leaks no tensors (forward, backward, the discarded log-sum-exp)`, async () => {
      await expectNoLeak(() => tf.tidy(() => {
        const qkv = tf.ones([2, 3, 12]);
        const g = tf.grad((x: tf.Tensor) => tf.sum(fusedCausalAttention(x, 2, 0.5)))(qkv);
        const a = tf.grad((x: tf.Tensor) => tf.sum(fusedActivation(x, 'gelu_new')))(tf.ones([5]));
        return [g, a];
      }), 'fused training kernels');
    });
  });
}
