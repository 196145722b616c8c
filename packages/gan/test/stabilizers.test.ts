import { InvalidArgumentError, Rng, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Ema, MinibatchDiscrimination, MinibatchStdDev, ReplayBuffer, annealedStd, consistencyLoss, instanceNoise, randomShift, withUnrolledDiscriminator } from '@nutshell/gan';
import { Adam, Linear, MLP, valueAndGrads, disposeGrads } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { arr, close, val } from './helpers.js';

describe('minibatch layers', () => {
  it('minibatch stddev appends the mean per-group std (sample n in group n mod N/G)', () => {
    const x = tf.tensor([[0, 0], [1, 1], [2, 4], [1, 5]]);
    const y = new MinibatchStdDev(2).forward(x);
    expect(y.shape).toEqual([4, 3]);
    close(arr(tf.slice(y, [0, 2], [4, 1])), [1.5, 1, 1.5, 1], 1e-3);
    expect(new MinibatchStdDev(4).forward(tf.zeros([8, 3, 3, 2])).shape).toEqual([8, 3, 3, 3]);
    expect(() => new MinibatchStdDev(4).forward(tf.zeros([6, 2]))).toThrow(InvalidArgumentError);
  });
  it('minibatch discrimination sums exp(−L1) to the other samples', () => {
    const md = new MinibatchDiscrimination(2, 1, 2);
    md.T.assign(tf.eye(2));
    const y = md.forward(tf.tensor([[0, 0], [1, 0], [0, 2]]));
    const e = Math.exp;
    close(arr(tf.slice(y, [0, 2], [3, 1])), [e(-1) + e(-2), e(-1) + e(-3), e(-2) + e(-3)], 1e-5);
  });
});

describe('noise, smoothing, consistency', () => {
  it('instance noise has the requested std and anneals', () => {
    const x = tf.zeros([20000]);
    const y = instanceNoise(x, 0.5, new Rng(1));
    const v = arr(y);
    const sd = Math.sqrt(v.reduce((s, q) => s + q * q, 0) / v.length);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.02);
    close(arr(instanceNoise(tf.ones([3]), 0, new Rng(1))), [1, 1, 1]);
    expect(annealedStd(0.2, 50, 100)).toBeCloseTo(0.1);
    expect(annealedStd(0.2, 150, 100)).toBe(0);
  });
  it('consistency loss is λ(cΣw)² for a linear critic and a constant shift', () => {
    const l = new Linear(3, 1, { seed: 0 });
    l.weight.assign(tf.tensor([[0.5, -1, 2]]));
    const shift = (x: tf.Tensor) => tf.add(x, 0.1);
    close(val(consistencyLoss((x) => l.forward(x), tf.ones([4, 3]), shift, new Rng(0), 10)), 10 * (0.1 * 1.5) ** 2);
    close(val(consistencyLoss((x) => l.forward(x), tf.ones([4, 3]), (x) => tf.clone(x), new Rng(0))), 0);
  });
  it('random shifts move content without changing it', () => {
    const img = tf.tidy(() => tf.pad(tf.ones([2, 2, 2, 1]), [[0, 0], [3, 3], [3, 3], [0, 0]]));
    const out = randomShift({ maxShift: 2 })(img, new Rng(5));
    expect(out.shape).toEqual([2, 8, 8, 1]);
    close(val(tf.sum(out)), 8);
    close(arr(randomShift({ maxShift: 0 })(img, new Rng(5))), arr(img));
  });
});

describe('replay buffer', () => {
  it('fills, then swaps in stored fakes and stores the new ones', async () => {
    const buf = new ReplayBuffer(2, 1, 0);
    close(arr(buf.query(tf.tensor([[1], [2]]))), [1, 2]);
    expect(buf.size).toBe(2);
    const out = arr(buf.query(tf.tensor([[3], [4]])));
    for (const v of out) expect([1, 2, 3, 4]).toContain(v);
    expect(out.some((v) => v <= 2)).toBe(true);
    const again = new ReplayBuffer(2, 1, 0);
    again.setState(JSON.parse(JSON.stringify(buf.getState())));
    close(arr(again.query(tf.tensor([[5], [6]]))), arr(buf.query(tf.tensor([[5], [6]]))));
    const q = tf.tensor([[7], [8]]);
    await expectNoLeak(() => buf.query(q));
    expect(() => buf.query(tf.zeros([2, 3]))).toThrow();
  });
});

describe('EMA and unrolling', () => {
  it('EMA averages parameters and swaps them in temporarily', () => {
    const l = new Linear(1, 1, { seed: 0 });
    l.weight.assign(tf.tensor([[1]]));
    l.bias!.assign(tf.tensor([0]));
    const ema = new Ema(l, 0.5);
    l.weight.assign(tf.tensor([[3]]));
    ema.update();
    close(arr(ema.stateDict().weight!), [2]);
    const inside = ema.withAveraged(() => arr(l.weight));
    close(inside, [2]);
    close(arr(l.weight), [3]);
    expect(() => new Ema(l, 1)).toThrow(InvalidArgumentError);
  });
  it('unrolled D steps are undone (weights and optimizer state) after the generator sees them', () => {
    const D = new MLP({ sizes: [2, 4, 1], activation: 'tanh', seed: 1 });
    const opt = new Adam(D, { lr: 0.1 });
    const x = tf.ones([3, 2]);
    const stepD = () => {
      const { value, grads } = valueAndGrads(() => tf.mean(D.forward(x)), D);
      opt.step(grads);
      disposeGrads(grads);
      value.dispose();
    };
    stepD();
    const before = D.stateDict({ clone: true });
    const optBefore = opt.stateDict();
    let seen = 0;
    withUnrolledDiscriminator(D, opt, 3, stepD, () => { seen = val(tf.sum(tf.abs(tf.sub(D.getParameter('0.weight'), before['0.weight']!)))); });
    expect(seen).toBeGreaterThan(0);
    for (const [k, t] of Object.entries(D.stateDict())) close(arr(t), arr(before[k]!), 0);
    const optAfter = opt.stateDict();
    expect(optAfter.meta).toEqual(optBefore.meta);
    for (const [k, t] of Object.entries(optAfter.tensors)) close(arr(t), arr(optBefore.tensors[k]!), 0);
  });
});
