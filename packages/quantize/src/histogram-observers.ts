import { InvalidArgumentError, ShapeError } from '@nutshell/core';
import { quantRange, dtypeInfo } from './dtypes.js';
import { entropyThresholdBin } from './entropy.js';
import { f32 } from './float32.js';
import { Histogram } from './histogram.js';
import { assertFinite, readInput, type TensorLike } from './input.js';
import type { ObservedQParams, Observer } from './observers.js';
import { computeQParams, type QScheme } from './qparams.js';
import { quantizeValue } from './affine.js';

export interface HistogramObserverOptions extends QScheme {
  /** Histogram bins on each side of zero (default 2048, TensorRT's count). */
  bins?: number;
}

/** Base of the per-tensor observers that keep a histogram and choose a clipping range from it. */
abstract class HistogramBasedObserver implements Observer {
  abstract readonly name: string;
  readonly scheme: QScheme;
  readonly histogram: Histogram;

  constructor(options: HistogramObserverOptions) {
    this.scheme = { dtype: options.dtype, symmetric: options.symmetric, narrowRange: options.narrowRange };
    dtypeInfo(options.dtype);
    this.histogram = new Histogram(options.bins ?? 2048);
  }

  observe(x: TensorLike, shape?: readonly number[]): void {
    const { values } = readInput(x, shape, this.name);
    assertFinite(values, this.name);
    if (values.length === 0) throw new ShapeError(`${this.name}: cannot observe an empty tensor`);
    this.histogram.add(values);
  }

  /** The clipping range [lo, hi] chosen from the histogram. */
  protected abstract choose(): { min: number; max: number };

  range(): { min: Float32Array; max: Float32Array } {
    if (this.histogram.total === 0) throw new InvalidArgumentError(`${this.name}: no data observed yet; call observe() (or calibrate()) first`);
    if (this.histogram.range === 0) return { min: Float32Array.of(0), max: Float32Array.of(0) };
    const { min, max } = this.choose();
    return { min: Float32Array.of(Math.max(min, this.histogram.min)), max: Float32Array.of(Math.min(max, this.histogram.max)) };
  }

  qparams(): ObservedQParams {
    const { min, max } = this.range();
    const qp = computeQParams(min[0]!, max[0]!, this.scheme);
    return { scale: Float32Array.of(qp.scale), zeroPoint: Int32Array.of(qp.zeroPoint), granularity: { kind: 'tensor' } };
  }

  reset(): void {
    const h = this.histogram;
    h.counts.fill(0);
    h.range = h.total = 0;
    h.min = Infinity;
    h.max = -Infinity;
  }
}

/**
 * Clips at a percentile of the data (TensorRT/pytorch-quantization's percentile calibrator):
 * symmetric schemes clip |x| at the `percentile`-th percentile; affine ones clip the low tail at
 * 100 − p and the high tail at p.
 */
export class PercentileObserver extends HistogramBasedObserver {
  readonly name = 'percentile';
  readonly percentile: number;

  constructor(options: HistogramObserverOptions & { percentile?: number }) {
    super(options);
    const p = options.percentile ?? 99.99;
    if (!(p > 0 && p <= 100)) throw new InvalidArgumentError(`percentile must be in (0, 100], got ${p}`);
    this.percentile = p;
  }

  protected choose(): { min: number; max: number } {
    const h = this.histogram;
    const w = h.binWidth;
    const need = (fraction: number) => fraction * h.total;
    if (this.scheme.symmetric) {
      const folded = h.folded();
      let acc = 0;
      let k = 0;
      for (; k < folded.length - 1; k++) {
        acc += folded[k]!;
        if (acc >= need(this.percentile / 100)) break;
      }
      const t = (k + 1) * w;
      return { min: -t, max: t };
    }
    let acc = 0;
    let lo = 0;
    for (; lo < h.counts.length - 1; lo++) {
      acc += h.counts[lo]!;
      if (acc > need(1 - this.percentile / 100)) break;
    }
    acc = 0;
    let hi = h.counts.length - 1;
    for (; hi > 0; hi--) {
      acc += h.counts[hi]!;
      if (acc > need(1 - this.percentile / 100)) break;
    }
    return { min: (lo - h.binsPerSide) * w, max: (hi + 1 - h.binsPerSide) * w };
  }
}

/**
 * Searches `candidates` shrunken ranges (the observed range times k/candidates) and keeps the one
 * whose quantize→dequantize round trip has the least mean squared error over the histogram.
 */
export class MseObserver extends HistogramBasedObserver {
  readonly name = 'mse';
  readonly candidates: number;

  constructor(options: HistogramObserverOptions & { candidates?: number }) {
    super(options);
    const n = options.candidates ?? 100;
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`candidates must be a positive integer, got ${n}`);
    this.candidates = n;
  }

  /** Expected squared error of quantizing the histogram with the range [lo, hi] (bin centres stand for their bins). */
  errorOf(lo: number, hi: number): number {
    const h = this.histogram;
    const { scale, zeroPoint } = computeQParams(lo, hi, this.scheme);
    const { qmin, qmax } = quantRange(this.scheme.dtype, this.scheme.narrowRange);
    const inv = f32(1 / scale);
    let err = 0;
    for (let i = 0; i < h.counts.length; i++) {
      const c = h.counts[i]!;
      if (c === 0) continue;
      const x = h.center(i);
      const d = scale * (quantizeValue(x, inv, zeroPoint, qmin, qmax) - zeroPoint) - x;
      err += c * d * d;
    }
    return err / h.total;
  }

  protected choose(): { min: number; max: number } {
    const h = this.histogram;
    const amax = Math.max(-h.min, h.max);
    let best = { min: h.min, max: h.max, err: Infinity };
    for (let k = 1; k <= this.candidates; k++) {
      const f = k / this.candidates;
      const lo = this.scheme.symmetric ? -amax * f : Math.min(0, h.min) * f;
      const hi = this.scheme.symmetric ? amax * f : Math.max(0, h.max) * f;
      const err = this.errorOf(lo, hi);
      if (err < best.err) best = { min: lo, max: hi, err };
    }
    return best;
  }
}

/**
 * TensorRT's entropy (KL-divergence) calibration, see entropy.ts: clips |x| at the threshold whose
 * quantized distribution is closest to the observed one. Uses 2^(bits−1) levels (128 for int8) and
 * starts the search at that bin, as TensorRT does.
 */
export class EntropyObserver extends HistogramBasedObserver {
  readonly name = 'entropy';

  protected choose(): { min: number; max: number } {
    const h = this.histogram;
    const { bits } = dtypeInfo(this.scheme.dtype);
    const levels = 2 ** (bits - 1);
    const t = entropyThresholdBin(h.folded(), levels, levels) * h.binWidth;
    return { min: -t, max: t };
  }
}
