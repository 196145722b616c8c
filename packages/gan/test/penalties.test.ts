import { Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { DCGANDiscriminator, MLPDiscriminator, clipWeights, gradientPenalty, inputGradient, r1Penalty } from '@nutshell/gan';
import { Linear, SpectralNorm, valueAndGrads } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { close, val } from './helpers.js';

function linearCritic(w: number[]): Linear {
  const l = new Linear(w.length, 1, { seed: 0 });
  l.weight.assign(tf.tensor([w]));
  return l;
}

describe('gradient penalties', () => {
  const real = () => new Rng(1).normalTensor([6, 4]);
  const fake = () => new Rng(2).normalTensor([6, 4]);
  it('WGAN-GP is 0 for a unit-norm linear critic and λ for norm 2', () => {
    const unit = linearCritic([0.6, 0.8, 0, 0]);
    close(val(gradientPenalty((x) => unit.forward(x), real(), fake())), 0, 1e-5);
    const two = linearCritic([1.2, 1.6, 0, 0]);
    close(val(gradientPenalty((x) => two.forward(x), real(), fake())), 10, 1e-4);
    close(val(gradientPenalty((x) => two.forward(x), real(), fake(), { lambda: 3 })), 3, 1e-4);
  });
  it('R1 is γ/2·‖w‖² for a linear critic', () => {
    const two = linearCritic([1.2, 1.6, 0, 0]);
    close(val(r1Penalty((x) => two.forward(x), real(), 10)), 20, 1e-4);
  });
  it('the input gradient matches finite differences', () => {
    const D = new MLPDiscriminator(3, { hidden: [8], seed: 3 });
    const x = new Rng(4).normalTensor([2, 3]);
    const g = inputGradient((t) => D.forward(t), x).dataSync();
    const xs = Array.from(x.dataSync());
    const f = (v: number[]) => val(tf.tidy(() => tf.sum(D.forward(tf.tensor(v, [2, 3])))));
    const h = 1e-2;
    xs.forEach((_, i) => {
      const p = [...xs]; p[i]! += h;
      const m = [...xs]; m[i]! -= h;
      expect(Math.abs((f(p) - f(m)) / (2 * h) - g[i]!)).toBeLessThan(2e-3);
    });
  });
  it('the penalty gradient w.r.t. D parameters matches finite differences (double backprop)', () => {
    const D = new MLPDiscriminator(3, { hidden: [6], seed: 5 });
    const r = new Rng(6).normalTensor([4, 3]);
    const fk = new Rng(7).normalTensor([4, 3]);
    const alpha = tf.tensor([0.1, 0.4, 0.7, 0.9]);
    const gp = () => gradientPenalty((x) => D.forward(x), r, fk, { alpha });
    const { grads, value } = valueAndGrads(gp, D);
    value.dispose();
    const w = D.getParameter('0.weight');
    const g = grads.get(w)!.dataSync();
    const w0 = Array.from(w.dataSync());
    const h = 1e-2;
    for (const i of [0, 3, 7, 11]) {
      const at = (d: number) => {
        const v = [...w0]; v[i]! += d;
        w.assign(tf.tensor(v, w.shape));
        return val(tf.tidy(gp));
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      w.assign(tf.tensor(w0, w.shape));
      expect(Math.abs(fd - g[i]!), `param ${i}: fd ${fd} vs ${g[i]}`).toBeLessThan(0.02 * (1 + Math.abs(fd)));
    }
  });
  it('double backprop runs through conv discriminators (layer norm, spectral norm, minibatch std) without leaks', async () => {
    for (const cfg of [{ norm: 'layer' as const }, { norm: 'none' as const, spectralNorm: true, minibatchStd: true }]) {
      const D = new DCGANDiscriminator({ width: 4, ...cfg, seed: 1 });
      const r = new Rng(1).normalTensor([4, 28, 28, 1]);
      const fk = new Rng(2).normalTensor([4, 28, 28, 1]);
      const step = () => {
        const { value, grads } = valueAndGrads(() => gradientPenalty((x) => D.forward(x), r, fk, { rng: new Rng(3) }), D);
        for (const t of grads.values()) expect(t.shape.length).toBeGreaterThan(0);
        return [value, [...grads.values()]];
      };
      step().flat().forEach((t) => (t as Tensor).dispose());
      await expectNoLeak(step);
    }
  });
  it('weight clipping clamps every parameter', () => {
    const D = new MLPDiscriminator(2, { hidden: [16], seed: 1 });
    clipWeights(D, 0.01);
    for (const p of D.parameters()) expect(Math.max(...Array.from(p.dataSync()).map(Math.abs))).toBeLessThanOrEqual(0.01 + 1e-7);
  });
  it('spectral normalisation gives σ_max = 1 ± 0.01', () => {
    const sn = new SpectralNorm(new Linear(12, 9, { seed: 2 }), { seed: 3 });
    const x = tf.ones([1, 12]);
    for (let i = 0; i < 40; i++) sn.forward(x).dispose();
    const W = Array.from(sn.module.weight.dataSync());
    // True top singular value by float64 power iteration on WᵀW.
    let v = Array.from({ length: 12 }, (_, i) => 1 + i * 0.1);
    let s = 0;
    for (let it = 0; it < 500; it++) {
      const u = Array.from({ length: 9 }, (_, r) => v.reduce((a, vc, c) => a + W[r * 12 + c]! * vc, 0));
      const nv = Array.from({ length: 12 }, (_, c) => u.reduce((a, ur, r) => a + W[r * 12 + c]! * ur, 0));
      const n = Math.hypot(...nv);
      v = nv.map((q) => q / n);
      s = Math.sqrt(n);
    }
    expect(Math.abs(s / sn.sigma() - 1)).toBeLessThan(0.01);
  });
});
