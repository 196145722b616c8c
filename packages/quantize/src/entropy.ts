/**
 * TensorRT's entropy calibration (as in NVIDIA's pytorch-quantization `_compute_amax_entropy`): over
 * a histogram of |x|, try every clipping bin i from `startBin` to the end; the reference distribution P
 * is the first i bins with all clipped counts added to bin i − 1; the candidate Q squeezes those i bins
 * into `levels` quantization levels (each level's count spread evenly over its non-empty bins). The
 * bin i with the least KL(P‖Q) wins (the last one on ties) and the threshold is its left edge i·w.
 * Bin 0 (the exact zeros) is replaced by bin 1, as TensorRT does, so sparse tensors don't skew it.
 */
export function entropyThresholdBin(hist: Float64Array, levels: number, startBin = levels): number {
  const bins = Float64Array.from(hist);
  if (bins.length > 1) bins[0] = bins[1]!;
  const n = bins.length;
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + bins[i]!;
  let best = Infinity;
  let bestBin = n;
  const chunkSum = new Float64Array(levels);
  const chunkNonZero = new Float64Array(levels);
  for (let i = Math.min(startBin, n); i <= n; i++) {
    chunkSum.fill(0);
    chunkNonZero.fill(0);
    for (let j = 0; j < i; j++) {
      if (bins[j] === 0) continue;
      const c = Math.floor((j * levels) / i);
      chunkSum[c]! += bins[j]!;
      chunkNonZero[c]! += 1;
    }
    const outliers = suffix[i]!;
    let pTotal = 0;
    let qTotal = 0;
    for (let j = 0; j < i; j++) {
      pTotal += bins[j]! + (j === i - 1 ? outliers : 0);
      if (bins[j] !== 0) {
        const c = Math.floor((j * levels) / i);
        qTotal += chunkSum[c]! / chunkNonZero[c]!;
      }
    }
    if (pTotal === 0 || qTotal === 0) continue;
    let kl = 0;
    for (let j = 0; j < i; j++) {
      const p = (bins[j]! + (j === i - 1 ? outliers : 0)) / pTotal;
      if (p === 0) continue;
      const q = bins[j] !== 0 ? chunkSum[Math.floor((j * levels) / i)]! / chunkNonZero[Math.floor((j * levels) / i)]! / qTotal : 0;
      if (q === 0) {
        kl = Infinity;
        break;
      }
      kl += p * Math.log(p / q);
    }
    if (kl <= best) {
      best = kl;
      bestBin = i;
    }
  }
  return bestBin;
}
