import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';

/** numpy / torch.quantile's default ('linear') quantile of an ascending-sorted array. */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const w = pos - lo;
  return w === 0 ? sorted[lo]! : sorted[lo]! + w * (sorted[hi]! - sorted[lo]!);
}

export function checkThresholdOptions(ratio: number, maxValue: number, who: string): void {
  if (!(ratio > 0 && ratio <= 1)) throw new InvalidArgumentError(`${who}: dynamicThresholdingRatio must be in (0, 1], got ${ratio}`);
  if (!(maxValue >= 1) || !Number.isFinite(maxValue)) throw new InvalidArgumentError(`${who}: sampleMaxValue must be a finite number ≥ 1, got ${maxValue}`);
}

/**
 * Dynamic thresholding (Saharia et al. 2022, Imagen), as diffusers' `_threshold_sample`: per sample,
 * s = the `ratio` quantile of |x̂₀| over all its elements, clamped to [1, maxValue]; then x̂₀ is
 * clipped to [−s, s] and divided by s. With maxValue = 1 (diffusers' default) this is plain clipping
 * to [−1, 1]; pixel-space models use e.g. ratio 0.995 and a larger maxValue. The caller owns the result.
 */
export function dynamicThreshold(x0: Tensor, ratio = 0.995, maxValue = 1): Tensor {
  checkThresholdOptions(ratio, maxValue, 'dynamicThreshold');
  if (x0.rank < 2) throw new ShapeError(`dynamicThreshold: expected [batch, …], got [${x0.shape.join(', ')}]`);
  const B = x0.shape[0]!;
  const per = x0.size / B;
  // The quantile needs a sort per sample; samples are small enough to do that on the host.
  const abs = tf.tidy(() => tf.abs(x0));
  const values = abs.dataSync();
  abs.dispose();
  const s = new Float32Array(B);
  const row = new Float64Array(per);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < per; i++) row[i] = values[b * per + i]!;
    row.sort();
    s[b] = Math.min(Math.max(sortedQuantile(row, ratio), 1), maxValue);
  }
  return tf.tidy(() => {
    const st = tf.reshape(tf.tensor1d(s), [B, ...Array(x0.rank - 1).fill(1)]);
    return tf.div(tf.minimum(tf.maximum(x0, tf.neg(st)), st), st);
  });
}
