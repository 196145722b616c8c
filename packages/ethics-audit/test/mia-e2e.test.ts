import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { classifierSignals, evaluateMembership, makePrivate, shadowStatistics } from '@nutshell/ethics-audit';
import { Adam, DataLoader, MLP, SGD, crossEntropy, type Module } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

// Random labels on Gaussian inputs: nothing to generalise, so a model that fits its training set
// can only have memorised it — the worst case for membership privacy.
const N = 100, D = 20;
const rng = new Rng('mia-e2e');
const X = tf.tensor2d(Array.from({ length: N * D }, () => rng.normal()), [N, D]);
const labels = Array.from({ length: N }, () => rng.int(2));
const Y = tf.tensor1d(labels, 'int32');
const targetMembers = rng.permutation(N).slice(0, N / 2);
const isMember = Array.from({ length: N }, (_, i) => targetMembers.includes(i));

function trainOverfit(members: number[], seed: number): Module {
  const model = new MLP({ sizes: [D, 64, 2], seed });
  const opt = new Adam(model, { lr: 0.03 });
  const idx = tf.tensor1d(members, 'int32');
  const x = tf.gather(X, idx), y = tf.gather(Y, idx);
  for (let s = 0; s < 80; s++) opt.minimize(() => crossEntropy(model.forward(x), y));
  tf.dispose([idx, x, y]);
  opt.dispose();
  return model;
}

const dispose = (m: Module) => m.parameters().forEach((p) => p.dispose());

describe('membership inference end to end', () => {
  it('finds members of an overfit model (loss and LiRA) but not of a DP-trained one', async () => {
    const target = trainOverfit(targetMembers, 100);
    const signals = classifierSignals(target, X, Y);
    const shadows = await shadowStatistics({
      numExamples: N, numShadows: 4, seed: 1,
      trainAndScore(members, s) {
        const m = trainOverfit(members, s);
        const { phi } = classifierSignals(m, X, Y);
        dispose(m);
        return phi;
      },
    });
    expect(shadows.inStats.every((s) => s.length === 2) && shadows.outStats.every((s) => s.length === 2)).toBe(true);
    const overfit = evaluateMembership({ isMember, target: signals, shadows });
    expect(overfit.loss.auc).toBeGreaterThan(0.8);
    expect(overfit.liraOnline!.auc).toBeGreaterThan(0.75);
    expect(overfit.liraOffline!.auc).toBeGreaterThan(0.7);
    expect(overfit.members).toBe(50);
    dispose(target);

    // DP-SGD with heavy noise: the attack should be near chance.
    const dpModel = new MLP({ sizes: [D, 64, 2], seed: 100 });
    const idx = tf.tensor1d(targetMembers, 'int32');
    const data = [tf.gather(X, idx), tf.gather(Y, idx)];
    const dp = makePrivate(dpModel, new SGD(dpModel, { lr: 0.2 }), new DataLoader(data, { batchSize: 10 }), { noiseMultiplier: 3, maxGradNorm: 0.5, seed: 2 });
    dp.fit((m, [x, y]: Tensor[]) => crossEntropy(m.forward(x!), y!, { reduction: 'none' }), { epochs: 10 });
    const dpEval = evaluateMembership({ isMember, target: classifierSignals(dpModel, X, Y), shadows });
    expect(Math.abs(dpEval.loss.auc - 0.5)).toBeLessThan(0.15);
    expect(dpEval.loss.auc).toBeLessThan(overfit.loss.auc - 0.25);
    expect(dp.getEpsilon()).toBeLessThan(3);
    tf.dispose(data);
    idx.dispose();
    dispose(dpModel);
  });

  it('validates inputs and does not leak', async () => {
    await expect(shadowStatistics({ numExamples: 4, numShadows: 3, trainAndScore: () => [0, 0, 0, 0] })).rejects.toThrow(InvalidArgumentError);
    await expect(shadowStatistics({ numExamples: 4, numShadows: 2, trainAndScore: () => [0] })).rejects.toThrow(/returned 1/);
    const m = new MLP({ sizes: [D, 4, 2], seed: 0 });
    await expectNoLeak(() => { classifierSignals(m, X, Y, { batchSize: 7 }); });
    // φ and the loss agree with a direct computation.
    const s = classifierSignals(m, X, Y);
    const logits = m.forward(X) as Tensor;
    const p = tf.softmax(logits).arraySync() as number[][];
    tf.dispose(logits);
    for (let i = 0; i < 5; i++) {
      const py = p[i]![labels[i]!]!;
      expect(s.losses[i]).toBeCloseTo(-Math.log(py), 4);
      expect(s.phi[i]).toBeCloseTo(Math.log(py) - Math.log(1 - py), 3);
    }
    expect(() => evaluateMembership({ isMember: [true], target: s })).toThrow(/membership labels/);
    dispose(m);
  });
});
