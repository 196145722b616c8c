import { InvalidArgumentError } from '@nutshell/core';

/**
 * A histogram of signed values over [−R, R] with `binsPerSide` equal bins on each side of zero. R
 * starts at the first non-zero |x| seen and doubles (merging neighbouring bins) when later data goes
 * beyond it, so memory stays fixed however much data is observed.
 */
export class Histogram {
  readonly binsPerSide: number;
  /** counts[binsPerSide + k] covers [k·w, (k+1)·w); counts[binsPerSide − 1 − k] covers (−(k+1)·w, −k·w]. */
  readonly counts: Float64Array;
  range = 0;
  min = Infinity;
  max = -Infinity;
  total = 0;
  private pendingZeros = 0;

  constructor(binsPerSide = 2048) {
    if (!Number.isInteger(binsPerSide) || binsPerSide < 8 || binsPerSide % 2 !== 0) throw new InvalidArgumentError(`Histogram: binsPerSide must be an even integer ≥ 8, got ${binsPerSide}`);
    this.binsPerSide = binsPerSide;
    this.counts = new Float64Array(2 * binsPerSide);
  }

  get binWidth(): number {
    return this.range / this.binsPerSide;
  }

  add(values: Float32Array): void {
    let amax = 0;
    for (const v of values) {
      const a = Math.abs(v);
      if (a > amax) amax = a;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
    this.total += values.length;
    if (amax > this.range) this.grow(amax);
    if (this.range === 0) {
      this.pendingZeros += values.length;
      return;
    }
    const B = this.binsPerSide;
    const inv = B / this.range;
    for (const v of values) {
      const k = Math.min(B - 1, Math.floor(Math.abs(v) * inv));
      this.counts[v < 0 ? B - 1 - k : B + k]! += 1;
    }
  }

  private grow(amax: number): void {
    if (this.range === 0) {
      this.range = amax;
      this.counts[this.binsPerSide]! += this.pendingZeros;
      this.pendingZeros = 0;
      return;
    }
    const B = this.binsPerSide;
    while (this.range < amax) {
      // Doubling the range: new bin k on each side holds old bins 2k and 2k + 1.
      for (const side of [1, -1]) {
        const at = (k: number) => (side > 0 ? B + k : B - 1 - k);
        for (let k = 0; k < B; k++) {
          const merged = k < B / 2 ? this.counts[at(2 * k)]! + this.counts[at(2 * k + 1)]! : 0;
          this.counts[at(k)] = merged;
        }
      }
      this.range *= 2;
    }
  }

  /** |x| histogram: bin k covers [k·w, (k+1)·w). */
  folded(): Float64Array {
    const B = this.binsPerSide;
    const out = new Float64Array(B);
    for (let k = 0; k < B; k++) out[k] = this.counts[B + k]! + this.counts[B - 1 - k]!;
    out[0]! += this.pendingZeros;
    return out;
  }

  /** Centre of signed bin i. */
  center(i: number): number {
    return (i - this.binsPerSide + 0.5) * this.binWidth;
  }
}
