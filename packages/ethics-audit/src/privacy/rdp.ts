import { InvalidArgumentError, describe } from '@nutshell/core';
import { logAdd, logBinomInt, logErfc, logSub } from './special.js';

/** Opacus' default RDP orders: 1.1, 1.2, …, 10.9 and 12, 13, …, 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
]);

/** log A_α for integer α (Mironov, Talwar & Zhang 2019, §3.3): a finite binomial sum. */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  const lq = Math.log(q), l1q = Math.log1p(-q);
  for (let i = 0; i <= alpha; i++) {
    const coef = logBinomInt(alpha, i) + i * lq + (alpha - i) * l1q;
    logA = logAdd(logA, coef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/** log A_α for fractional α: the two tails split at z0, summed until terms are negligible. */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity, logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const lq = Math.log(q), l1q = Math.log1p(-q);
  // Generalized binomial coefficient C(α, i) built by its recurrence, sign kept apart.
  let coef = 1;
  for (let i = 0; ; i++) {
    if (i > 0) coef *= (alpha - i + 1) / i;
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * lq + j * l1q;
    const logT1 = logCoef + j * lq + i * l1q;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30 || i > 10_000) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP of one step of the sampled Gaussian mechanism at order α. */
export function rdpSampledGaussian(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

function checkMechanism(name: string, q: number, sigma: number, steps: number): void {
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new InvalidArgumentError(`${name}: sample rate q must be in [0, 1], got ${describe(q)}`);
  if (typeof sigma !== 'number' || !(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError(`${name}: noise multiplier must be a finite number >= 0, got ${describe(sigma)}`);
  if (!Number.isInteger(steps) || steps < 0) throw new InvalidArgumentError(`${name}: steps must be an integer >= 0, got ${describe(steps)}`);
}

function checkOrders(name: string, orders: readonly number[]): void {
  if (!Array.isArray(orders) || orders.length === 0) throw new InvalidArgumentError(`${name}: orders must be a non-empty array`);
  for (const a of orders) if (typeof a !== 'number' || !(a > 1)) throw new InvalidArgumentError(`${name}: every RDP order must be > 1, got ${describe(a)}`);
}

/** RDP of `steps` compositions of the sampled Gaussian mechanism, at each order. */
export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  checkMechanism('computeRdp', q, noiseMultiplier, steps);
  checkOrders('computeRdp', orders);
  return orders.map((a) => rdpSampledGaussian(q, noiseMultiplier, a) * steps);
}

export interface PrivacySpent {
  epsilon: number;
  /** The order that gave the smallest ε (NaN when none was finite). */
  bestAlpha: number;
}

/**
 * RDP → (ε, δ) with the bound Opacus uses (Balle et al. 2020, Thm. 21):
 * ε = rdp − (log δ + log α)/(α − 1) + log((α − 1)/α), minimized over the orders.
 */
export function rdpToEpsilon(orders: readonly number[], rdp: readonly number[], delta: number): PrivacySpent {
  checkOrders('rdpToEpsilon', orders);
  if (rdp.length !== orders.length) throw new InvalidArgumentError(`rdpToEpsilon: ${orders.length} orders but ${rdp.length} RDP values`);
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw new InvalidArgumentError(`rdpToEpsilon: delta must be in (0, 1), got ${describe(delta)}`);
  let best = Infinity, bestAlpha = NaN;
  orders.forEach((a, k) => {
    const eps = rdp[k]! - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (!Number.isNaN(eps) && (eps < best || Number.isNaN(bestAlpha))) {
      best = eps;
      bestAlpha = a;
    }
  });
  return { epsilon: best, bestAlpha };
}

/** Tracks DP-SGD steps (noise multiplier, sample rate) like Opacus' RDPAccountant. */
export class RdpAccountant {
  /** Runs of identical steps: [noiseMultiplier, sampleRate, steps]. */
  readonly history: [number, number, number][] = [];

  step(noiseMultiplier: number, sampleRate: number, steps = 1): void {
    checkMechanism('RdpAccountant.step', sampleRate, noiseMultiplier, steps);
    const last = this.history[this.history.length - 1];
    if (last && last[0] === noiseMultiplier && last[1] === sampleRate) last[2] += steps;
    else this.history.push([noiseMultiplier, sampleRate, steps]);
  }

  getPrivacySpent(delta: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): PrivacySpent {
    const rdp = orders.map(() => 0);
    for (const [sigma, q, n] of this.history) computeRdp(q, sigma, n, orders).forEach((v, k) => (rdp[k]! += v));
    return rdpToEpsilon(orders, rdp, delta);
  }

  getEpsilon(delta: number, orders?: readonly number[]): number {
    return this.getPrivacySpent(delta, orders).epsilon;
  }
}

/** ε after `steps` steps at one (q, σ). */
export function rdpEpsilon(q: number, noiseMultiplier: number, steps: number, delta: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): PrivacySpent {
  return rdpToEpsilon(orders, computeRdp(q, noiseMultiplier, steps, orders), delta);
}

export interface NoiseMultiplierQuery {
  targetEpsilon: number;
  targetDelta: number;
  sampleRate: number;
  /** Give steps, or epochs (steps = ⌊epochs / q⌋). */
  steps?: number;
  epochs?: number;
  /** Stop when the ε reached is within this of the target (Opacus default 0.01). */
  epsilonTolerance?: number;
  orders?: readonly number[];
}

/** The smallest noise multiplier (to Opacus' bisection tolerance) whose ε stays under the target. */
export function getNoiseMultiplier(query: NoiseMultiplierQuery): number {
  const { targetEpsilon, targetDelta, sampleRate } = query;
  if ((query.steps === undefined) === (query.epochs === undefined)) throw new InvalidArgumentError('getNoiseMultiplier: give exactly one of steps and epochs');
  const steps = query.steps ?? Math.floor(query.epochs! / sampleRate);
  if (!(targetEpsilon > 0)) throw new InvalidArgumentError(`getNoiseMultiplier: targetEpsilon must be > 0, got ${describe(targetEpsilon)}`);
  const tol = query.epsilonTolerance ?? 0.01;
  const eps = (sigma: number) => rdpEpsilon(sampleRate, sigma, steps, targetDelta, query.orders).epsilon;
  let lo = 0, hi = 10, epsHi = Infinity;
  while (epsHi > targetEpsilon) {
    hi *= 2;
    epsHi = eps(hi);
    if (hi > 1e6) throw new InvalidArgumentError('getNoiseMultiplier: the privacy budget is too low');
  }
  while (targetEpsilon - epsHi > tol) {
    const mid = (lo + hi) / 2;
    const e = eps(mid);
    if (e < targetEpsilon) {
      hi = mid;
      epsHi = e;
    } else lo = mid;
  }
  return hi;
}
