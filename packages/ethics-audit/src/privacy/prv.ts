import { InvalidArgumentError, describe } from '@nutshell/core';
import { fft } from './fft.js';
import { normalCdf } from './special.js';

export interface PrvQuery {
  sampleRate: number;
  noiseMultiplier: number;
  steps: number;
  delta: number;
  /** log2 of the FFT size (default 19). */
  log2Size?: number;
}

export interface PrvResult {
  /** ε from the nearest-point discretization. */
  epsilon: number;
  /** ε bounds from rounding every privacy-loss value down / up to the grid. */
  epsilonLower: number;
  epsilonUpper: number;
  mesh: number;
}

/**
 * Privacy loss random variable of the Poisson-subsampled Gaussian (remove adjacency): with μ = 1/σ,
 * Y = log(1 − q + q·e^{μX − μ²/2}), X ~ (1−q)N(0,1) + qN(μ,1). Its CDF and survival function, the
 * latter computed directly so the right tail keeps its precision.
 */
function prvTails(q: number, sigma: number) {
  const mu = 1 / sigma;
  const arg = (t: number) => {
    const inner = Math.exp(t) - 1 + q;
    if (inner <= 0) return -Infinity;
    const z = Math.log(inner / q);
    return z / mu + mu / 2;
  };
  const cdf = (t: number) => {
    const a = arg(t);
    return a === -Infinity ? 0 : (1 - q) * normalCdf(a) + q * normalCdf(a - mu);
  };
  const sf = (t: number) => {
    const a = arg(t);
    return a === -Infinity ? 1 : (1 - q) * normalCdf(-a) + q * normalCdf(mu - a);
  };
  return { cdf, sf };
}

/**
 * ε for δ with the PRV accountant (Gopi, Lee & Wutschitz 2021): discretize the privacy loss of one
 * step on a grid, compose `steps` copies by FFT, and solve δ(ε) = E[(1 − e^{ε−Y})₊] = δ.
 */
export function prvEpsilon(query: PrvQuery): PrvResult {
  const { sampleRate: q, noiseMultiplier: sigma, steps: k, delta } = query;
  if (typeof q !== 'number' || !(q > 0 && q <= 1)) throw new InvalidArgumentError(`prvEpsilon: sample rate must be in (0, 1], got ${describe(q)}`);
  if (typeof sigma !== 'number' || !(sigma > 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError(`prvEpsilon: noise multiplier must be > 0, got ${describe(sigma)}`);
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`prvEpsilon: steps must be an integer >= 1, got ${describe(k)}`);
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw new InvalidArgumentError(`prvEpsilon: delta must be in (0, 1), got ${describe(delta)}`);
  const N = 2 ** (query.log2Size ?? 19);
  const { cdf, sf } = prvTails(q, sigma);
  // Lower end of one step's support: log(1 − q), or (q = 1, no floor) where the CDF is negligible.
  let lower = Math.log1p(-q);
  if (!Number.isFinite(lower)) {
    lower = -1;
    while (cdf(lower) > 1e-30 / k && lower > -1e4) lower *= 2;
  }

  // Support of one step: from log(1 − q) up to where the survival function is negligible.
  let hi = 1;
  while (sf(hi) > 1e-30 / k && hi < 1e4) hi *= 2;
  // Mean and spread of one step, from a fine trapezoid over the quantiles.
  const probe = 20_000;
  let m1 = 0, m2 = 0, prev = lower, prevF = 0;
  for (let i = 1; i <= probe; i++) {
    const t = lower + ((hi - lower) * i) / probe;
    const F = t > 0 ? 1 - sf(t) : cdf(t);
    const mid = (t + prev) / 2;
    m1 += mid * (F - prevF);
    m2 += mid * mid * (F - prevF);
    prev = t;
    prevF = F;
  }
  const sd = Math.sqrt(Math.max(m2 - m1 * m1, 1e-300));
  const center = k * m1;
  // Window for the composed loss: wide enough for the Gaussian bulk and the heavy right tail.
  const W = Math.max(12 * Math.sqrt(k) * sd, 2 * (hi - m1), 1);
  const h = (2 * W) / N;

  const compose = (mode: 'nearest' | 'floor' | 'ceil') => {
    const re = new Float64Array(N), im = new Float64Array(N);
    const jLo = Math.floor(lower / h) - 1, jHi = Math.ceil(hi / h) + 1;
    if (jHi - jLo >= N) throw new InvalidArgumentError('prvEpsilon: one step spans more than the FFT grid; raise log2Size');
    // Bin j gathers the mass that rounds to j·h.
    const edge = (j: number) => (mode === 'nearest' ? (j - 0.5) * h : mode === 'floor' ? j * h : (j - 1) * h);
    const massBelow = (t: number) => (t > 0 ? 1 - sf(t) : cdf(t));
    for (let j = jLo; j <= jHi; j++) {
      const a = edge(j), b = edge(j + 1);
      const p = a > 0 ? sf(a) - sf(b) : massBelow(b) - massBelow(a);
      if (p > 0) re[((j % N) + N) % N] += p;
    }
    fft(re, im);
    for (let i = 0; i < N; i++) {
      const r = Math.hypot(re[i]!, im[i]!);
      if (r === 0) continue;
      const th = Math.atan2(im[i]!, re[i]!) * k;
      const rk = r ** k;
      re[i] = rk * Math.cos(th);
      im[i] = rk * Math.sin(th);
    }
    fft(re, im, true);
    // Index i holds the value congruent to i·h, placed in [center − W, center + W).
    const values = new Float64Array(N), pmf = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const v = i * h;
      values[i] = center - W + ((((v - (center - W)) % (2 * W)) + 2 * W) % (2 * W));
      pmf[i] = Math.max(re[i]!, 0);
    }
    const deltaAt = (eps: number) => {
      let s = 0;
      for (let i = 0; i < N; i++) if (values[i]! > eps) s += pmf[i]! * -Math.expm1(eps - values[i]!);
      return s;
    };
    let lo = 0, top = center + W;
    if (deltaAt(0) <= delta) return 0;
    for (let it = 0; it < 60 && top - lo > 1e-7; it++) {
      const mid = (lo + top) / 2;
      if (deltaAt(mid) > delta) lo = mid;
      else top = mid;
    }
    return top;
  };
  return { epsilon: compose('nearest'), epsilonLower: compose('floor'), epsilonUpper: compose('ceil'), mesh: h };
}
