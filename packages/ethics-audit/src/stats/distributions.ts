import { logErfc, logGamma } from '../privacy/special.js';

/**
 * Tail probabilities in log space (so p-values of 1e-300 and below stay exact) for the detectors and
 * the representation audit: χ² survival function and the normal quantile of an upper-tail p-value.
 */

/** log P(X > x) for X ~ N(0, 1). */
export function logNormalSf(x: number): number {
  return Math.log(0.5) + logErfc(x / Math.SQRT2);
}

/** Φ̄⁻¹: the z with P(N(0,1) > z) = exp(logP); bisection on the monotone logNormalSf (exact to ~1e-12). */
export function normalIsfLog(logP: number): number {
  if (logP >= 0) return -Infinity;
  if (logP === -Infinity) return Infinity;
  let lo = -40, hi = 40;
  if (logNormalSf(hi) > logP) {
    // Beyond z = 40: grow the bracket (log Φ̄ ~ −z²/2, so this ends quickly).
    while (logNormalSf(hi) > logP) { lo = hi; hi *= 2; }
  }
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo)); i++) {
    const mid = 0.5 * (lo + hi);
    if (logNormalSf(mid) > logP) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Φ⁻¹(p), the standard normal quantile. */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  return normalIsfLog(Math.log1p(-p));
}

/** log of the regularized lower incomplete gamma P(a, x) by its series (converges fast for x < a + 1). */
function logGammaPSeries(a: number, x: number): number {
  let sum = 1 / a, term = 1 / a;
  for (let n = 1; n < 10000; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return Math.log(sum) - x + a * Math.log(x) - logGamma(a);
}

/** log of the regularized upper incomplete gamma Q(a, x) by its continued fraction (x ≥ a + 1; modified Lentz). */
function logGammaQCF(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.log(h) - x + a * Math.log(x) - logGamma(a);
}

/** log Q(a, x) = log P(Gamma(a, 1) > x). */
export function logGammaQ(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x < a + 1) return Math.log1p(-Math.exp(logGammaPSeries(a, x)));
  return logGammaQCF(a, x);
}

/** log P(χ²_k > x). */
export function logChiSquareSf(x: number, k: number): number {
  return logGammaQ(k / 2, x / 2);
}

/** P(χ²_k > x). */
export function chiSquareSf(x: number, k: number): number {
  return Math.exp(logChiSquareSf(x, k));
}
