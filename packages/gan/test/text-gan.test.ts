import { InvalidArgumentError, Rng, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  GanTrainer, GumbelSequenceGenerator, SequenceDiscriminator, annealTemperature, balancedParentheses, isBalanced, oneHotSequences,
} from '@nutshell/gan';
import { Adam, DataLoader, disposeGrads, valueAndGrads } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

const validFraction = (G: GumbelSequenceGenerator, n = 400) => G.sample(n, new Rng('eval')).filter(isBalanced).length / n;

describe('parenthesis grammar', () => {
  it('enumerates the Catalan number of balanced strings and checks them', () => {
    expect(balancedParentheses(2)).toEqual([[0, 1]]);
    expect(balancedParentheses(6).length).toBe(5);
    expect(balancedParentheses(8).length).toBe(14);
    expect(balancedParentheses(10).length).toBe(42);
    // Brute force over all 2^8 strings agrees with the enumeration.
    const all = Array.from({ length: 256 }, (_, m) => Array.from({ length: 8 }, (_, i) => (m >> (7 - i)) & 1));
    expect(all.filter(isBalanced).map((s) => s.join(''))).toEqual(balancedParentheses(8).map((s) => s.join('')));
    expect(isBalanced([1, 0])).toBe(false);
    expect(isBalanced([0, 0, 1])).toBe(false);
    expect(isBalanced([0, 2, 1])).toBe(false);
    expect(() => balancedParentheses(7)).toThrow(InvalidArgumentError);
    const oh = oneHotSequences([[0, 1], [1, 0]], 2);
    expect(Array.from(oh.dataSync())).toEqual([1, 0, 0, 1, 0, 1, 1, 0]);
    oh.dispose();
  });
});

describe('Gumbel-softmax text GAN', () => {
  it('emits one-hot tokens (straight-through) or relaxed ones, with gradients to every generator parameter; no leaks', async () => {
    const G = new GumbelSequenceGenerator(3, 5, { latentDim: 4, hidden: 8, seed: 1 });
    const D = new SequenceDiscriminator(3, 5, { channels: 4, hidden: 8, seed: 2 });
    const z = new Rng(0).normalTensor([6, 4]);
    const hard = G.forward(z);
    expect(hard.shape).toEqual([6, 5, 3]);
    const hv = Array.from(hard.dataSync());
    expect(hv.every((v) => v === 0 || v === 1)).toBe(true);
    expect(hv.reduce((a, b) => a + b, 0)).toBe(30);
    G.hard = false;
    G.tau = 0.7;
    const soft = G.forward(z);
    const sums = tf.sum(soft, -1);
    Array.from(sums.dataSync()).forEach((s) => expect(s).toBeCloseTo(1, 5));
    expect(Array.from(soft.dataSync()).some((v) => v > 0.01 && v < 0.99)).toBe(true);
    G.hard = true;
    // Straight-through: D's loss reaches the generator's parameters through the one-hot tokens.
    const { value, grads } = valueAndGrads(() => tf.mean(D.forward(G.forward(z))), G);
    expect(grads.size).toBe(G.parameters().length);
    for (const g of grads.values()) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    expect([...grads.values()].some((g) => Array.from(g.dataSync()).some((v) => v !== 0))).toBe(true);
    disposeGrads(grads);
    await expectNoLeak(() => {
      G.forward(z).dispose();
      D.forward(hard).dispose();
      G.sample(3, new Rng(1));
      const r = valueAndGrads(() => tf.mean(D.forward(G.forward(z))), G);
      disposeGrads(r.grads);
      r.value.dispose();
    });
    expect(() => G.forward(tf.zeros([2, 3]))).toThrow(ShapeError);
    expect(() => D.forward(tf.zeros([2, 4, 3]))).toThrow(ShapeError);
    expect(() => new GumbelSequenceGenerator(3, 5, { tau: 0 })).toThrow(InvalidArgumentError);
    tf.dispose([z, hard, soft, sums, value]);
  });

  it('temperature annealing follows max(min, start·exp(−rate·t))', () => {
    expect(annealTemperature(0)).toBe(1);
    expect(annealTemperature(100, { start: 2, min: 0.1, rate: 0.01 })).toBeCloseTo(2 * Math.exp(-1), 12);
    expect(annealTemperature(1e6, { min: 0.5 })).toBe(0.5);
    expect(() => annealTemperature(1, { min: 0 })).toThrow(InvalidArgumentError);
  });

  it('learns balanced parentheses: the valid fraction rises well above the untrained generator', async () => {
    const L = 8;
    const words = balancedParentheses(L); // 14 of the 256 strings
    const rng = new Rng(0);
    const data = oneHotSequences(Array.from({ length: 512 }, () => words[rng.int(words.length)]!), 2);
    const G = new GumbelSequenceGenerator(2, L, { latentDim: 8, hidden: 32, seed: 1 });
    const D = new SequenceDiscriminator(2, L, { channels: 16, hidden: 32, seed: 101 });
    const before = validFraction(G);
    const trainer = new GanTrainer({
      generator: G, discriminator: D, latentDim: 8, log: false, loss: 'non-saturating', seed: 1,
      optimizerG: new Adam(G, { lr: 3e-3, betas: [0.5, 0.999] }), optimizerD: new Adam(D, { lr: 3e-3, betas: [0.5, 0.999] }),
      onStep: (log) => { G.tau = annealTemperature(log.step, { start: 1, min: 0.5, rate: 5e-3 }); },
    });
    const hist = await trainer.fit(new DataLoader(data, { batchSize: 32, shuffle: true, seed: 1 }), { steps: 80 });
    hist.forEach((h) => expect(Number.isFinite(h.dLoss) && Number.isFinite(h.gLoss)).toBe(true));
    const after = validFraction(G);
    const distinct = new Set(G.sample(400, new Rng('eval')).filter(isBalanced).map((s) => s.join(''))).size;
    // Seeded run: 0.06 → 0.41; chance (uniform strings) is 14/256 = 0.055.
    expect(before).toBeLessThan(0.12);
    expect(after).toBeGreaterThan(0.25);
    expect(after - before).toBeGreaterThan(0.2);
    expect(distinct).toBeGreaterThanOrEqual(5); // not one memorised string
    expect(G.tau).toBeCloseTo(annealTemperature(80, { start: 1, min: 0.5, rate: 5e-3 }), 12);
    data.dispose();
  });
});
