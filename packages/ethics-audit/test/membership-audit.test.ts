import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { audit, makePrivate, membershipAudit, rdpEpsilon, trainOnMembers, type TrainingRecipe } from '@nutshell/ethics-audit';
import { DataLoader, MLP, SGD, crossEntropy } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';

const N = 40, D = 5;
const rng = new Rng('membership-audit');
const X = tf.tensor2d(Array.from({ length: N * D }, () => rng.normal()), [N, D]);
const Y = tf.tensor1d(Array.from({ length: N }, () => rng.int(2)), 'int32');
const targetMembers = rng.permutation(N).slice(0, N / 2);

const base = {
  createModel: (seed: number) => new MLP({ sizes: [D, 8, 2], seed }),
  createOptimizer: (m: MLP) => new SGD(m, { lr: 0.2 }),
  epochs: 2,
  batchSize: 5,
} as unknown as TrainingRecipe;
const dpRecipe: TrainingRecipe = { ...base, dp: { noiseMultiplier: 1.2, maxGradNorm: 1, delta: 1e-5 } };

const inUnit = (v: number) => v >= 0 && v <= 1;

describe('membership audit with DP-trained target and shadows', () => {
  it('trains a DP target and matched DP shadows and reports ε from the accountant next to the AUCs', async () => {
    const seen: number[] = [];
    const r = await membershipAudit({ x: X, y: Y, targetMembers, recipe: dpRecipe, numShadows: 2, seed: 3, onShadow: (s) => seen.push(s) });
    expect(seen).toEqual([0, 1]);
    expect(r.members).toBe(20);
    expect(r.nonMembers).toBe(20);
    const t = r.privacy.target!;
    // Poisson sampling at q = 5/20, ⌊1/q⌋ = 4 steps per epoch, 2 epochs.
    expect(t).toMatchObject({ dp: true, steps: 8, sampleRate: 0.25, noiseMultiplier: 1.2, maxGradNorm: 1, delta: 1e-5, members: 20 });
    expect(t.epsilon).toBe(rdpEpsilon(0.25, 1.2, 8, 1e-5).epsilon);
    expect(r.privacy.shadows).toHaveLength(2);
    // Balanced shadows: every pool row is IN for exactly one of the two.
    expect(r.privacy.shadows.reduce((s, p) => s + p.members, 0)).toBe(N);
    for (const p of r.privacy.shadows) {
      const q = Math.min(1, 5 / p.members);
      expect(p.sampleRate).toBe(q);
      expect(p.steps).toBe(2 * Math.floor(1 / q));
      expect(p.epsilon).toBe(rdpEpsilon(q, 1.2, p.steps, 1e-5).epsilon);
    }
    expect(r.privacy.shadowsMatchTarget).toBe(true);
    for (const a of [r.loss, r.liraOnline!, r.liraOffline!]) {
      expect(inUnit(a.auc) && inUnit(a.tpr_at_0_1pct_fpr) && inUnit(a.tpr_at_1pct_fpr)).toBe(true);
    }
    // The audit report states the target's ε next to each attack's AUC.
    const report = await audit('dp-target', { privacy: { membership: r } });
    const mia = report.findings.filter((f) => f.check.startsWith('membership-inference'));
    expect(mia).toHaveLength(3);
    expect(mia[0]!.message).toContain(`ε = ${t.epsilon.toFixed(2)}`);
    expect(mia[0]!.message).toContain('trained alike');
    r.target.dispose();
  });

  it('reports ε = ∞ without DP, flags mismatched shadows, and takes a trained target', async () => {
    const plain = trainOnMembers(X, Y, targetMembers, base, 1);
    expect(plain.privacy).toMatchObject({ dp: false, epsilon: Infinity, steps: 8, members: 20 });
    // A DP target attacked with non-private shadows: reported as mismatched.
    const model = new MLP({ sizes: [D, 8, 2], seed: 5 });
    const idx = tf.tensor1d(targetMembers, 'int32');
    const data = [tf.gather(X, idx), tf.gather(Y, idx)];
    const dp = makePrivate(model, new SGD(model, { lr: 0.2 }), new DataLoader(data, { batchSize: 5 }), { noiseMultiplier: 1.2, maxGradNorm: 1, seed: 0 });
    dp.fit((m, [x, y]: Tensor[]) => crossEntropy(m.forward(x!), y!, { reduction: 'none' }), { epochs: 1 });
    const r = await membershipAudit({ x: X, y: Y, targetMembers, recipe: base, target: { model, privacy: dp }, numShadows: 2 });
    expect(r.target).toBe(model);
    expect(r.privacy.target!.epsilon).toBe(dp.getEpsilon());
    expect(r.privacy.shadows.every((p) => !p.dp && p.epsilon === Infinity)).toBe(true);
    expect(r.privacy.shadowsMatchTarget).toBe(false);
    tf.dispose([idx, ...data]);
    plain.model.dispose();

    await expectNoLeak(async () => { await membershipAudit({ x: X, y: Y, targetMembers, recipe: dpRecipe, target: { model }, numShadows: 2 }); });
    model.dispose();
  });

  it('rejects malformed inputs with typed errors', async () => {
    await expect(membershipAudit({ x: X, y: Y, targetMembers: [N], recipe: base, numShadows: 2 })).rejects.toThrow(InvalidArgumentError);
    await expect(membershipAudit({ x: X, y: Y, targetMembers, recipe: { ...base, epochs: 0 }, numShadows: 2 })).rejects.toThrow(/epochs/);
    await expect(membershipAudit({ x: X, y: Y, targetMembers, recipe: base, numShadows: 3 })).rejects.toThrow(/numShadows/);
    expect(() => trainOnMembers(X, Y, [], base, 0)).toThrow(/no members/);
  });
});
