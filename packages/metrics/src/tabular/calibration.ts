import { InvalidArgumentError } from '@nutshell/core';

export interface EceResult {
  ece: number;
  /** Largest |accuracy − confidence| over non-empty bins. */
  mce: number;
  bins: { lower: number; upper: number; count: number; accuracy: number; confidence: number }[];
}

/**
 * Expected calibration error with `bins` equal-width confidence bins (default 15, as Guo et al. 2017):
 * Σ_b (n_b / N)·|acc_b − conf_b|. Input: the predicted class's confidence and whether it was right.
 * Bins are (lower, upper]; a confidence of exactly 0 goes to the first bin.
 */
export function expectedCalibrationError(confidences: readonly number[], correct: readonly (boolean | number)[], options: { bins?: number } = {}): EceResult {
  if (!Array.isArray(confidences) || !Array.isArray(correct) || confidences.length !== correct.length || confidences.length === 0) {
    throw new InvalidArgumentError('expectedCalibrationError: confidences and correct must be non-empty arrays of equal length');
  }
  const nb = options.bins ?? 15;
  if (!Number.isInteger(nb) || nb < 1) throw new InvalidArgumentError(`expectedCalibrationError: bins must be a positive integer, got ${nb}`);
  const count = new Array<number>(nb).fill(0);
  const hits = new Array<number>(nb).fill(0);
  const conf = new Array<number>(nb).fill(0);
  confidences.forEach((c, i) => {
    if (!(c >= 0 && c <= 1)) throw new InvalidArgumentError(`expectedCalibrationError: confidence ${i} is ${c}, not in [0, 1]`);
    const b = Math.min(nb - 1, Math.max(0, Math.ceil(c * nb) - 1));
    count[b]!++;
    conf[b]! += c;
    if (correct[i] === true || correct[i] === 1) hits[b]!++;
  });
  let ece = 0;
  let mce = 0;
  const n = confidences.length;
  const bins = count.map((cnt, b) => {
    const accuracy = cnt ? hits[b]! / cnt : 0;
    const confidence = cnt ? conf[b]! / cnt : 0;
    if (cnt) {
      const gap = Math.abs(accuracy - confidence);
      ece += (cnt / n) * gap;
      mce = Math.max(mce, gap);
    }
    return { lower: b / nb, upper: (b + 1) / nb, count: cnt, accuracy, confidence };
  });
  return { ece, mce, bins };
}

/** ECE from class-probability rows and integer labels: confidence = max probability, correct = argmax is the label. */
export function eceFromProbabilities(probabilities: readonly (readonly number[])[], labels: readonly number[], options: { bins?: number } = {}): EceResult {
  if (probabilities.length !== labels.length) throw new InvalidArgumentError(`eceFromProbabilities: ${probabilities.length} rows but ${labels.length} labels`);
  const conf: number[] = [];
  const ok: boolean[] = [];
  probabilities.forEach((row) => {
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
    conf.push(row[best]!);
    ok.push(best === labels[conf.length - 1]);
  });
  return expectedCalibrationError(conf, ok, options);
}
