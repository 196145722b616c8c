import { InvalidArgumentError, Rng, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { AUDITS, audit, auditRepresentation, chiSquareSf, confusionMatrix, representationAudit, trainAttributeClassifier, type AttributeClassifier } from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const CLASSES = ['a', 'b', 'c', 'd'];
/** Labels drawn from the given shares. */
function draw(rng: Rng, n: number, p: number[]): number[] {
  return Array.from({ length: n }, () => { let u = rng.uniform(), k = 0; while (k < p.length - 1 && (u -= p[k]!) > 0) k++; return k; });
}

describe('representation audit', () => {
  it('χ², total variation and ratios on hand-checked counts', () => {
    const labels = [...Array(40).fill(0), ...Array(30).fill(1), ...Array(20).fill(2), ...Array(10).fill(3)];
    const r = representationAudit(labels, { classes: CLASSES, seed: 1 });
    // Expected 25 each: χ² = (225 + 25 + 25 + 225) / 25 = 20, dof 3.
    expect(r.chiSquare.statistic).toBeCloseTo(20, 12);
    expect(r.chiSquare.dof).toBe(3);
    expect(r.chiSquare.pValue).toBeCloseTo(chiSquareSf(20, 3), 12);
    // Closed form for 3 dof: erfc(√(x/2)) + √(2x/π) e^{−x/2}.
    expect(r.chiSquare.pValue).toBeCloseTo(Math.exp(-10) * Math.sqrt(40 / Math.PI) + 7.744216431044074e-6, 12);
    expect(r.totalVariation.value).toBeCloseTo(0.2, 12);
    expect(r.minMaxRatio).toBeCloseTo(0.25, 12);
    expect(r.byClass[0]).toMatchObject({ class: 'a', count: 40, share: 0.4, reference: 0.25 });
    // Wilson interval of 40/100 at 95 %: [0.3094, 0.4980].
    expect(r.byClass[0]!.low).toBeCloseTo(0.3094, 3);
    expect(r.byClass[0]!.high).toBeCloseTo(0.4980, 3);
    expect(r.totalVariation.low).toBeLessThan(0.2);
    expect(r.totalVariation.high).toBeGreaterThan(0.2);
    // A non-uniform reference matching the data: nothing to report.
    const same = representationAudit(labels, { classes: CLASSES, reference: { a: 4, b: 3, c: 2, d: 1 } });
    expect(same.chiSquare.statistic).toBeCloseTo(0, 12);
    expect(same.minMaxRatio).toBeCloseTo(1, 12);
  });

  it('flags skewed synthetic sets and not balanced ones; the p-value is calibrated', () => {
    const rng = new Rng(5);
    let rejectBalanced = 0;
    for (let t = 0; t < 200; t++) if (representationAudit(draw(rng, 400, [0.25, 0.25, 0.25, 0.25]), { classes: CLASSES, iterations: 10 }).chiSquare.pValue < 0.05) rejectBalanced++;
    expect(rejectBalanced / 200).toBeGreaterThan(0.015);
    expect(rejectBalanced / 200).toBeLessThan(0.1);
    const skew = representationAudit(draw(rng, 400, [0.4, 0.3, 0.2, 0.1]), { classes: CLASSES, seed: 2 });
    expect(skew.chiSquare.pValue).toBeLessThan(1e-6);
    expect(skew.totalVariation.low).toBeGreaterThan(skew.totalVariation.expectedUnderReference);
    expect(skew.totalVariation.low).toBeLessThan(0.2);
    expect(skew.totalVariation.high).toBeGreaterThan(0.2);
    const bal = representationAudit(draw(rng, 400, [0.25, 0.25, 0.25, 0.25]), { classes: CLASSES, seed: 2 });
    expect(bal.totalVariation.value).toBeLessThan(0.1);
    // The plug-in TV is biased upwards for finite n; the report says by how much.
    expect(bal.totalVariation.expectedUnderReference).toBeGreaterThan(0.02);
    expect(bal.totalVariation.expectedUnderReference).toBeLessThan(0.06);
  });

  it('trains an attribute classifier and audits generated samples (with confusion correction)', async () => {
    // Four Gaussian clusters in 8-D are the attribute; "generated" sets are drawn with skewed shares.
    const rng = new Rng(9);
    const centers = Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => 2 * rng.normal()));
    const sample = (labels: number[]) => tf.tensor2d(labels.flatMap((k) => centers[k]!.map((c) => c + rng.normal())), [labels.length, 8]);
    const trainLabels = draw(rng, 800, [0.25, 0.25, 0.25, 0.25]);
    const xTrain = sample(trainLabels);
    const clf = trainAttributeClassifier(xTrain, trainLabels, { classes: CLASSES, epochs: 8, seed: 1 });
    xTrain.dispose();
    expect(clf.trainAccuracy).toBeGreaterThan(0.85);
    const valLabels = draw(rng, 600, [0.25, 0.25, 0.25, 0.25]);
    const xVal = sample(valLabels);
    const C = confusionMatrix(valLabels, clf.predict(xVal), 4);
    xVal.dispose();
    const genLabels = draw(rng, 1000, [0.55, 0.25, 0.15, 0.05]);
    const xGen = sample(genLabels);
    await expectNoLeak(async () => {
      const r = await auditRepresentation(clf, xGen, { seed: 3, confusion: C });
      expect(r.labels).toHaveLength(1000);
      expect(r.chiSquare.pValue).toBeLessThan(1e-10);
      expect(r.corrected![0]).toBeGreaterThan(0.48);
      expect(r.corrected![3]).toBeLessThan(0.1);
      // True TV from uniform is 0.3 + 0 + 0.1 + 0.2 over 2 = 0.3.
      expect(r.totalVariation.value).toBeGreaterThan(0.24);
      expect(r.totalVariation.value).toBeLessThan(0.36);
      expect(r.minMaxRatio).toBeLessThan(0.25);
    });
    xGen.dispose();
    clf.dispose();
  });

  it('rejects malformed input with typed errors', async () => {
    expect(() => representationAudit([0, 1], { classes: ['x'] })).toThrow(InvalidArgumentError);
    expect(() => representationAudit([0, 5], { classes: CLASSES })).toThrow(InvalidArgumentError);
    expect(() => representationAudit([], { classes: CLASSES })).toThrow(InvalidArgumentError);
    expect(() => representationAudit([0], { classes: CLASSES, reference: [1, 2] })).toThrow(InvalidArgumentError);
    expect(() => representationAudit([0], { classes: CLASSES, confusion: [[1]] })).toThrow(InvalidArgumentError);
    expect(() => confusionMatrix([0], [7], 2)).toThrow(InvalidArgumentError);
    await expect(auditRepresentation({} as never, tf.scalar(0) as never)).rejects.toThrow(InvalidArgumentError);
    await expect(audit('m', { representation: { labels: [0, 1] } })).rejects.toThrow(/classes/);
  });

  it('runs as the "representation" audit and inside audit(model, suite)', async () => {
    const entry = AUDITS.find((a) => a.name === 'representation')!;
    expect(entry).toBeDefined();
    const rng = new Rng(11);
    // Skewed samples (60/20/10/10 against uniform, n = 400): significant and far above the limit.
    const skewed = draw(rng, 400, [0.6, 0.2, 0.1, 0.1]);
    const [f] = await entry.run({ labels: skewed, classes: CLASSES } as never);
    expect(f!.severity).toBe('high');
    expect(f!.value).toBeCloseTo(representationAudit(skewed, { classes: CLASSES }).totalVariation.value, 12);
    expect(f!.message).toMatch(/least represented: [cd]/);
    // Balanced samples: no finding beyond 'info'.
    const [g] = await entry.run({ labels: draw(rng, 400, [0.25, 0.25, 0.25, 0.25]), classes: CLASSES } as never);
    expect(g!.severity).toBe('info');
    // Mildly skewed: significant but under a looser limit → info; over a tight one → medium.
    const mild = draw(rng, 2000, [0.31, 0.23, 0.23, 0.23]);
    expect((await entry.run({ labels: mild, classes: CLASSES, maxTotalVariation: 0.2 } as never))[0]!.severity).toBe('info');
    expect((await entry.run({ labels: mild, classes: CLASSES, maxTotalVariation: 0.03 } as never))[0]!.severity).toBe('medium');

    // Through audit(): an attribute classifier labels the samples; the card gets TV and min/max ratio.
    const clf: AttributeClassifier = { classes: CLASSES, predict: (x) => Array.from(x.dataSync(), (v) => Math.round(v)) };
    const samples = tf.tensor1d(skewed);
    const card = { name: 'gen', details: {}, intendedUse: { primaryUses: 'demo' }, trainingData: { datasets: [{ name: 'synthetic' }] }, evaluation: { datasets: [{ name: 'generated samples' }] }, results: [], limitations: 'toy' };
    const report = await audit('gen', { representation: { classifier: clf, samples, reference: [0.25, 0.25, 0.25, 0.25], label: 'generated digits' }, card: card as never });
    const rep = report.findings.find((x) => x.check === 'representation')!;
    expect(rep.severity).toBe('high');
    expect(rep.message).toContain('400 generated digits');
    expect(report.card!.results!.map((r) => r.name)).toEqual(expect.arrayContaining(['representation_total_variation', 'representation_min_max_ratio']));
    samples.dispose();
  });
});
