import { readFileSync } from 'node:fs';
import {
  accuracy,
  averagePrecision,
  confusionMatrix,
  expectedCalibrationError,
  logLoss,
  meanAbsoluteError,
  meanSquaredError,
  precisionRecallF,
  r2Score,
  rocAuc,
} from '@nutshell/metrics';
import { describe, expect, it } from 'vitest';

const fx = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));

describe('scikit-learn 1.2 fixtures', () => {
  const m = fx.multiclass;
  it('accuracy and confusion matrix are exact', () => {
    expect(accuracy(m.y_true, m.y_pred)).toBe(m.accuracy);
    expect(confusionMatrix(m.y_true, m.y_pred).matrix).toEqual(m.confusion);
  });
  it.each(['micro', 'macro', 'weighted'] as const)('precision/recall/F1 %s', (avg) => {
    const r = precisionRecallF(m.y_true, m.y_pred, { average: avg });
    expect(r.precision).toBe(m[avg].precision);
    expect(r.recall).toBe(m[avg].recall);
    expect(r.f).toBe(m[avg].f);
  });
  it('F-beta', () => {
    const r = precisionRecallF(m.y_true, m.y_pred, { average: 'macro', beta: 0.5 });
    expect(r.f).toBe(m.macro_beta_0_5.f);
  });
  const b = fx.binary;
  it('binary precision/recall/F, ROC AUC, AP, log loss', () => {
    const r = precisionRecallF(b.y_true, b.y_pred);
    expect([r.precision, r.recall, r.f]).toEqual([b.precision, b.recall, b.f]);
    expect(rocAuc(b.y_true, b.scores)).toBeCloseTo(b.roc_auc, 14);
    expect(averagePrecision(b.y_true, b.scores)).toBeCloseTo(b.average_precision, 14);
    expect(logLoss(b.y_true, b.scores)).toBeCloseTo(b.log_loss, 13);
    expect(logLoss(fx.log_loss_multiclass.y_true, fx.log_loss_multiclass.probs)).toBeCloseTo(fx.log_loss_multiclass.value, 13);
  });
  it('regression', () => {
    const r = fx.regression;
    expect(meanSquaredError(r.y_true, r.y_pred)).toBeCloseTo(r.mse, 14);
    expect(meanAbsoluteError(r.y_true, r.y_pred)).toBeCloseTo(r.mae, 14);
    expect(r2Score(r.y_true, r.y_pred)).toBeCloseTo(r.r2, 14);
    expect(r2Score([1, 1], [1, 1])).toBe(1);
    expect(r2Score([1, 1], [1, 2])).toBe(0);
  });
  it('errors', () => {
    expect(() => accuracy([1], [1, 2])).toThrow(/entries/);
    expect(() => rocAuc([1, 1], [0.2, 0.3])).toThrow(/both classes/);
    expect(() => precisionRecallF([0, 1, 2], [0, 1, 2], { average: 'binary' })).toThrow(/binary/);
  });
});

describe('expected calibration error', () => {
  it('by hand', () => {
    // Bin (0.8, 0.8667]: conf 0.85 ×2, one right → |0.5 − 0.85| = 0.35; bin (0.2, 0.2667]: conf 0.25, right → 0.75.
    const r = expectedCalibrationError([0.85, 0.85, 0.25], [true, false, 1]);
    expect(r.ece).toBeCloseTo((2 / 3) * 0.35 + (1 / 3) * 0.75, 12);
    expect(r.mce).toBeCloseTo(0.75, 12);
    expect(expectedCalibrationError([1, 1], [true, true]).ece).toBe(0);
  });
});
