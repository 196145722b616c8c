import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Linear, MLP } from '@nutshell/nn';
import { LoraLinear, LoraModel, lowRankSvd } from '@nutshell/finetune-lora';
import { describe, expect, it } from 'vitest';
import { TinyGPT2, ids, maxDiff } from './helpers.js';

const delta = (lora: LoraModel, path: string, name: string): Tensor => (lora.model.getModule(path) as LoraLinear).deltaWeight(name);

describe('adapter management', () => {
  it('add / set / disable / delete named adapters, swapping without touching the base', async () => {
    const gpt = new TinyGPT2();
    const x = ids();
    const base = gpt.forward(x);
    const lora = new LoraModel(gpt, { r: 2, target_modules: ['c_attn'], init_lora_weights: false }, { seed: 1 });
    lora.addAdapter('other', { r: 3, target_modules: ['c_fc'], init_lora_weights: false });
    expect(lora.activeAdapter).toBe('default');
    // only the active adapter trains
    expect(gpt.getParameter('transformer.h.0.attn.c_attn.lora_A.default.weight').trainable).toBe(true);
    expect(gpt.getParameter('transformer.h.0.mlp.c_fc.lora_A.other.weight').trainable).toBe(false);
    const yA = lora.forward(x);
    lora.setAdapter('other');
    const yB = lora.forward(x);
    expect(maxDiff(yA, yB)).toBeGreaterThan(1e-3);
    lora.setAdapter(['default', 'other']);
    const yAB = lora.forward(x);
    // with two active adapters the deltas add up: yAB differs from both
    expect(maxDiff(yAB, yA)).toBeGreaterThan(1e-4);
    const off = lora.withAdaptersDisabled(() => lora.forward(x));
    expect(maxDiff(off, base)).toBe(0);
    lora.setAdapter('default');
    const again = lora.forward(x);
    expect(maxDiff(again, yA)).toBe(0);
    lora.deleteAdapter('other');
    expect(() => gpt.getParameter('transformer.h.0.mlp.c_fc.lora_A.other.weight')).toThrow();
    expect(lora.peftConfig.has('other')).toBe(false);
    expect(() => lora.setAdapter('other')).toThrow(InvalidArgumentError);
    await expectNoLeak(() => {
      lora.addAdapter('tmp', { r: 2, target_modules: ['c_proj'] });
      lora.deleteAdapter('tmp');
    });
    tf.dispose([x, base, yA, yB, yAB, off, again]);
  });

  it('merge_and_unload gives a plain model with the adapted outputs; unload gives the base back', () => {
    const mlp = new MLP({ sizes: [5, 7, 3], seed: 9 });
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 1);
    const base = mlp.forward(x);
    const lora = new LoraModel(mlp, { r: 2, target_modules: ['0', '2'], init_lora_weights: false });
    const y = lora.forward(x);
    const plain = lora.mergeAndUnload();
    expect(plain.getModule('0')).toBeInstanceOf(Linear);
    expect(plain.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const ym = plain.forward(x);
    expect(maxDiff(ym, y)).toBeLessThan(1e-5);
    const mlp2 = new MLP({ sizes: [5, 7, 3], seed: 9 });
    const l2 = new LoraModel(mlp2, { r: 2, target_modules: ['0'], init_lora_weights: false });
    l2.merge();
    const back = l2.unload().forward(x);
    expect(maxDiff(back, base)).toBeLessThan(1e-6);
    tf.dispose([x, base, y, ym, back]);
  });

  it("add_weighted_adapter: 'linear' (PEFT's √(w·s) on A and B), 'cat' (exact sum), 'svd' (truncated SVD of Σ w·s·ΔW)", () => {
    const mk = () => new LoraModel(new MLP({ sizes: [6, 8, 4], seed: 3 }), { r: 2, lora_alpha: 4, target_modules: ['0', '2'], init_lora_weights: false }, { seed: 'a' });
    const lora = mk();
    lora.addAdapter('b', { r: 2, lora_alpha: 2, target_modules: ['0', '2'], init_lora_weights: false });
    const s = { default: 2, b: 1 };
    const dA = delta(lora, '0', 'default');
    const dB = delta(lora, '0', 'b');
    // single adapter, linear: B'A' = w·s·BA = w·ΔW (new scaling 1)
    lora.addWeightedAdapter(['default'], [0.5], 'half');
    const dHalf = delta(lora, '0', 'half');
    expect(maxDiff(dHalf, tf.mul(dA, 0.5))).toBeLessThan(1e-6);
    // cat: B'A' = Σ wᵢ sᵢ Bᵢ Aᵢ = Σ wᵢ ΔWᵢ
    lora.addWeightedAdapter(['default', 'b'], [0.3, 2], 'cat', { combinationType: 'cat' });
    const dCat = delta(lora, '0', 'cat');
    expect(lora.peftConfig.get('cat')!.r).toBe(4);
    const want = tf.add(tf.mul(dA, 0.3), tf.mul(dB, 2));
    expect(maxDiff(dCat, want)).toBeLessThan(1e-6);
    // svd with rank ≥ the sum of ranks reproduces PEFT's Σ wᵢ sᵢ ΔWᵢ exactly
    lora.addWeightedAdapter(['default', 'b'], [0.3, 2], 'svd', { combinationType: 'svd', svdRank: 4 });
    const dSvd = delta(lora, '0', 'svd');
    const wantSvd = tf.add(tf.mul(dA, 0.3 * s.default), tf.mul(dB, 2 * s.b));
    expect(maxDiff(dSvd, wantSvd)).toBeLessThan(1e-5);
    // linear with two adapters: (Σ√(wᵢsᵢ)Bᵢ)(Σ√(wᵢsᵢ)Aᵢ)
    lora.addWeightedAdapter(['default', 'b'], [1, 1], 'lin', { combinationType: 'linear' });
    const l0 = lora.model.getModule('0') as LoraLinear;
    const t = (n: string) => l0.tensorsOf(n);
    const wantLin = tf.tidy(() => tf.matMul(tf.add(tf.mul(t('default').B, Math.SQRT2), t('b').B), tf.add(tf.mul(t('default').A, Math.SQRT2), t('b').A)));
    const dLin = delta(lora, '0', 'lin');
    expect(maxDiff(dLin, wantLin)).toBeLessThan(1e-5);
    expect(() => lora.addWeightedAdapter(['default', 'cat'], [1, 1], 'bad', { combinationType: 'linear' })).toThrow(/equal ranks/);
    tf.dispose([dA, dB, dHalf, dCat, want, dSvd, wantSvd, wantLin, dLin]);
  });

  it('low-rank SVD recovers known singular values and truncates to the best rank-k', () => {
    // M = 3·u1 v1ᵀ + 1·u2 v2ᵀ with orthonormal u, v (given as a rank-3 product with a redundant column)
    const m = 4, n = 3;
    const u1 = [0.5, 0.5, 0.5, 0.5], u2 = [0.5, -0.5, 0.5, -0.5];
    const v1 = [1, 0, 0], v2 = [0, 0.6, 0.8];
    const P = new Float64Array(m * 3), Q = new Float64Array(3 * n);
    for (let i = 0; i < m; i++) { P[i * 3] = 3 * u1[i]!; P[i * 3 + 1] = u2[i]!; P[i * 3 + 2] = 2 * u1[i]!; }
    for (let j = 0; j < n; j++) { Q[j] = v1[j]!; Q[n + j] = v2[j]!; Q[2 * n + j] = 0; }
    const { U, S, Vt } = lowRankSvd(P, Q, m, 3, n, 2);
    expect(S[0]).toBeCloseTo(3, 10);
    expect(S[1]).toBeCloseTo(1, 10);
    // rank-1 truncation is 3·u1 v1ᵀ (up to a shared sign)
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect(U[i * 2]! * S[0]! * Vt[j]!).toBeCloseTo(3 * u1[i]! * v1[j]!, 10);
  });
});
