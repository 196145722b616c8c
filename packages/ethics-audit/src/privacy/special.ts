/** Log-space helpers and log(erfc) accurate in the far tail, for the RDP accountant. */

export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b), hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

/** log(exp(a) − exp(b)) for a ≥ b. */
export function logSub(a: number, b: number): number {
  if (a < b) throw new RangeError('logSub: result would be negative');
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  const d = a - b;
  // expm1 overflows only when the difference is huge, where the answer is a.
  return d > 700 ? a : Math.log(Math.expm1(d)) + b;
}

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(x) for |x| < 3 from its all-positive series erf(x) = 2/√π e^{−x²} Σ 2ⁿx^{2n+1}/(2n+1)!!. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** log(erfc(x) · e^{x²}) for x ≥ 3 by the continued fraction (modified Lentz). */
function logScaledErfcCF(x: number): number {
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -Math.log(SQRT_PI) - Math.log(f);
}

/** log(erfc(x)) for any real x, accurate far into the upper tail. */
export function logErfc(x: number): number {
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.log(2);
  if (x >= 3) return -x * x + logScaledErfcCF(x);
  if (x >= 0) return Math.log1p(-erfSeries(x));
  if (x > -3) return Math.log1p(erfSeries(-x));
  // erfc(x) = 2 − erfc(−x) for x < 0.
  return Math.log(2 - Math.exp(-x * x + logScaledErfcCF(-x)));
}

export function erfc(x: number): number {
  return Math.exp(logErfc(x));
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** log of the standard normal CDF, accurate in the lower tail. */
export function logNormalCdf(x: number): number {
  return Math.log(0.5) + logErfc(-x / Math.SQRT2);
}

/** log Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  const g = 7;
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** log C(n, k) for integers 0 ≤ k ≤ n. */
export function logBinomInt(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}
