import { InvalidArgumentError } from '@nutshell/core';

/** Inverse of the standard normal CDF: Acklam's rational approximation plus one Halley step (≈ 1e-7 relative, ample for intervals). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  let x: number;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  }
  // One Halley step against erfc for full double precision.
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Complementary error function (the Chebyshev fit of Numerical Recipes' erfcc, relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Wilson score interval for a binomial proportion (default 95%). */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): { estimate: number; low: number; high: number } {
  if (!(Number.isInteger(successes) && Number.isInteger(trials) && trials > 0 && successes >= 0 && successes <= trials)) {
    throw new InvalidArgumentError(`wilsonInterval: need integers 0 ≤ successes ≤ trials, trials > 0; got ${successes}/${trials}`);
  }
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const den = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / den;
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Exact two-sided binomial test p-value (as scipy.stats.binomtest: outcomes no more likely than the observed one). */
export function binomialTest(successes: number, trials: number, p = 0.5): number {
  const logPmf = (k: number) => lgammaInt(trials + 1) - lgammaInt(k + 1) - lgammaInt(trials - k + 1) + k * Math.log(p) + (trials - k) * Math.log(1 - p);
  const observed = logPmf(successes);
  let total = 0;
  for (let k = 0; k <= trials; k++) {
    const l = logPmf(k);
    if (l <= observed + 1e-7 * Math.abs(observed) + 1e-12) total += Math.exp(l);
  }
  return Math.min(1, total);
}

function lgammaInt(n: number): number {
  let s = 0;
  for (let i = 2; i < n; i++) s += Math.log(i);
  return s;
}

export interface PairwiseOutcome {
  a: string;
  b: string;
  /** 'a', 'b' or 'tie' (a tie counts half a win for each side). */
  winner: 'a' | 'b' | 'tie';
}

/** Win rate of `system` over its comparisons, with a Wilson interval (ties count half) and a binomial test vs 50%. */
export function winRate(outcomes: readonly PairwiseOutcome[], system: string, confidence = 0.95): { winRate: number; wins: number; losses: number; ties: number; low: number; high: number; pValue: number } {
  let wins = 0;
  let losses = 0;
  let ties = 0;
  for (const o of outcomes) {
    if (o.a !== system && o.b !== system) continue;
    if (o.winner === 'tie') ties++;
    else if ((o.winner === 'a') === (o.a === system)) wins++;
    else losses++;
  }
  const n = wins + losses + ties;
  if (n === 0) throw new InvalidArgumentError(`winRate: no comparisons involve ${JSON.stringify(system)}`);
  const rate = (wins + ties / 2) / n;
  const decisive = wins + losses;
  const ci = decisive > 0 ? wilsonInterval(wins, decisive, confidence) : { low: 0, high: 1 };
  return { winRate: rate, wins, losses, ties, low: ci.low, high: ci.high, pValue: decisive > 0 ? binomialTest(wins, decisive) : 1 };
}

/**
 * Bradley–Terry strengths by Hunter's (2004) MM iterations: P(i beats j) = p_i / (p_i + p_j); ties
 * count half a win each way. Strengths are normalized to sum to the number of systems; `scores` are
 * log-strengths (Elo-like scale: 400·log10 p gives Elo points).
 */
export function bradleyTerry(outcomes: readonly PairwiseOutcome[], options: { iterations?: number; tol?: number } = {}): { systems: string[]; strengths: number[]; elo: number[]; iterations: number } {
  const systems = [...new Set(outcomes.flatMap((o) => [o.a, o.b]))].sort();
  const m = systems.length;
  if (m < 2) throw new InvalidArgumentError('bradleyTerry: needs at least two systems');
  const at = new Map(systems.map((s, i) => [s, i]));
  const wins = new Float64Array(m * m); // wins[i][j] = times i beat j
  for (const o of outcomes) {
    const i = at.get(o.a)!;
    const j = at.get(o.b)!;
    if (o.winner === 'a') wins[i * m + j]! += 1;
    else if (o.winner === 'b') wins[j * m + i]! += 1;
    else {
      wins[i * m + j]! += 0.5;
      wins[j * m + i]! += 0.5;
    }
  }
  let p = new Float64Array(m).fill(1);
  const maxIt = options.iterations ?? 10_000;
  const tol = options.tol ?? 1e-12;
  let it = 0;
  for (; it < maxIt; it++) {
    const next = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let w = 0;
      let den = 0;
      for (let j = 0; j < m; j++) {
        if (i === j) continue;
        const nij = wins[i * m + j]! + wins[j * m + i]!;
        w += wins[i * m + j]!;
        if (nij > 0) den += nij / (p[i]! + p[j]!);
      }
      if (w === 0) throw new InvalidArgumentError(`bradleyTerry: ${systems[i]} never wins; the maximum-likelihood strength is 0 (add a prior or ties)`);
      next[i] = w / den;
    }
    const s = next.reduce((a, b) => a + b, 0) / m;
    let change = 0;
    for (let i = 0; i < m; i++) {
      next[i]! /= s;
      change = Math.max(change, Math.abs(next[i]! - p[i]!));
    }
    p = next;
    if (change < tol) break;
  }
  const strengths = Array.from(p);
  return { systems, strengths, elo: strengths.map((v) => 400 * Math.log10(v)), iterations: it + 1 };
}

/** Sequential Elo ratings (K-factor `k`, default 32; start 1000), in the order given. */
export function eloRatings(outcomes: readonly PairwiseOutcome[], options: { k?: number; initial?: number } = {}): Record<string, number> {
  const k = options.k ?? 32;
  const r: Record<string, number> = {};
  for (const o of outcomes) {
    const ra = (r[o.a] ??= options.initial ?? 1000);
    const rb = (r[o.b] ??= options.initial ?? 1000);
    const ea = 1 / (1 + 10 ** ((rb - ra) / 400));
    const sa = o.winner === 'a' ? 1 : o.winner === 'b' ? 0 : 0.5;
    r[o.a] = ra + k * (sa - ea);
    r[o.b] = rb + k * (ea - sa);
  }
  return r;
}
