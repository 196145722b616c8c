import { InvalidArgumentError, type MetricResult } from '@nutshell/core';
import { toMatrix, type MatrixLike } from '../linalg/matrix.js';

/**
 * Inception Score from an N×C matrix of class probabilities (softmax outputs of a classifier):
 * exp(E_x KL(p(y|x) ‖ p(y))) on each of `splits` contiguous chunks (N // splits rows each, as the
 * original implementation); value = mean over splits, details.std = population std over splits.
 * 0·log 0 is taken as 0.
 */
export function inceptionScore(probabilities: MatrixLike, options: { splits?: number } = {}): MetricResult {
  const p = toMatrix('inceptionScore: probabilities', probabilities, 1);
  const splits = options.splits ?? 10;
  if (!Number.isInteger(splits) || splits < 1) throw new InvalidArgumentError(`inceptionScore: splits must be a positive integer, got ${splits}`);
  const per = Math.floor(p.rows / splits);
  if (per < 1) throw new InvalidArgumentError(`inceptionScore: ${p.rows} samples cannot fill ${splits} splits`);
  const c = p.cols;
  for (let i = 0; i < p.rows; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) {
      const v = p.data[i * c + j]!;
      if (v < 0) throw new InvalidArgumentError(`inceptionScore: probability at row ${i}, column ${j} is negative (${v})`);
      s += v;
    }
    if (Math.abs(s - 1) > 1e-3) throw new InvalidArgumentError(`inceptionScore: row ${i} sums to ${s}, not 1 (pass softmax probabilities, not logits)`);
  }
  const scores: number[] = [];
  for (let k = 0; k < splits; k++) {
    const py = new Float64Array(c);
    for (let i = k * per; i < (k + 1) * per; i++) for (let j = 0; j < c; j++) py[j]! += p.data[i * c + j]!;
    for (let j = 0; j < c; j++) py[j]! /= per;
    let kl = 0;
    for (let i = k * per; i < (k + 1) * per; i++) {
      for (let j = 0; j < c; j++) {
        const v = p.data[i * c + j]!;
        if (v > 0) kl += v * (Math.log(v) - Math.log(py[j]!));
      }
    }
    scores.push(Math.exp(kl / per));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { name: 'inception_score', value: mean, higherIsBetter: true, signature: `is|splits:${splits}`, details: { std, splits: scores } };
}
