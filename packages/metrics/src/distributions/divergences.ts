import { InvalidArgumentError, ShapeError, type MetricResult } from '@nutshell/core';
import { sameCols, squaredDistances, toMatrix, type MatrixLike } from '../linalg/matrix.js';

function probVector(name: string, p: ArrayLike<number>, normalize: boolean): Float64Array {
  const v = Float64Array.from(p);
  if (v.length === 0) throw new InvalidArgumentError(`${name}: empty distribution`);
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    if (!(v[i]! >= 0) || !Number.isFinite(v[i]!)) throw new InvalidArgumentError(`${name}: entry ${i} is ${v[i]} (must be finite and ≥ 0)`);
    s += v[i]!;
  }
  if (!(s > 0)) throw new InvalidArgumentError(`${name}: entries sum to 0`);
  if (normalize) for (let i = 0; i < v.length; i++) v[i]! /= s;
  else if (Math.abs(s - 1) > 1e-6) throw new InvalidArgumentError(`${name}: sums to ${s}, not 1 (pass normalize: true for counts)`);
  return v;
}

export interface DiscreteDivergenceOptions {
  /**
   * ε handling: q is smoothed as (q + ε) / (1 + kε) before the log, so a zero in q where p > 0 gives
   * a large finite value instead of ∞. Default 0: exact, and Infinity when p > 0 = q (scipy's
   * `entropy(p, q)`). Terms with p = 0 contribute 0 either way.
   */
  epsilon?: number;
  /** Normalize inputs to sum 1 (e.g. counts) as scipy does; default true. */
  normalize?: boolean;
  /** Logarithm base (default e: nats; 2 for bits). */
  base?: number;
}

/** KL(p ‖ q) = Σ p log(p / q) for discrete distributions (scipy.stats.entropy(p, q) with the defaults). */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>, options: DiscreteDivergenceOptions = {}): number {
  const normalize = options.normalize ?? true;
  const a = probVector('klDivergence: p', p, normalize);
  let b = probVector('klDivergence: q', q, normalize);
  if (a.length !== b.length) throw new ShapeError(`klDivergence: p has ${a.length} entries, q has ${b.length}`);
  const eps = options.epsilon ?? 0;
  if (!(eps >= 0)) throw new InvalidArgumentError(`klDivergence: epsilon must be ≥ 0, got ${eps}`);
  if (eps > 0) b = b.map((v) => (v + eps) / (1 + eps * b.length));
  let kl = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === 0) continue;
    if (b[i] === 0) return Infinity;
    kl += a[i]! * Math.log(a[i]! / b[i]!);
  }
  return kl / Math.log(options.base ?? Math.E);
}

/**
 * Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2: finite and symmetric, ≤ ln 2
 * (1 bit with base 2). scipy's `jensenshannon` returns its square root (the JS distance).
 */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>, options: Omit<DiscreteDivergenceOptions, 'epsilon'> = {}): number {
  const normalize = options.normalize ?? true;
  const a = probVector('jsDivergence: p', p, normalize);
  const b = probVector('jsDivergence: q', q, normalize);
  if (a.length !== b.length) throw new ShapeError(`jsDivergence: p has ${a.length} entries, q has ${b.length}`);
  const m = a.map((v, i) => 0.5 * (v + b[i]!));
  return 0.5 * klDivergence(a, m, { ...options, normalize: false }) + 0.5 * klDivergence(b, m, { ...options, normalize: false });
}

/**
 * KL(N(μ1, Σ1) ‖ N(μ2, Σ2)) in closed form for diagonal Gaussians (variances given):
 * ½ Σ [log(σ2²/σ1²) + (σ1² + (μ1 − μ2)²)/σ2² − 1].
 */
export function gaussianKl(mu1: ArrayLike<number>, var1: ArrayLike<number>, mu2: ArrayLike<number>, var2: ArrayLike<number>): number {
  const d = mu1.length;
  if (var1.length !== d || mu2.length !== d || var2.length !== d) throw new ShapeError(`gaussianKl: lengths differ (${d}, ${var1.length}, ${mu2.length}, ${var2.length})`);
  let kl = 0;
  for (let i = 0; i < d; i++) {
    const v1 = var1[i]!;
    const v2 = var2[i]!;
    if (!(v1 > 0 && v2 > 0)) throw new InvalidArgumentError(`gaussianKl: variances must be > 0, got ${v1}, ${v2} at ${i}`);
    kl += Math.log(v2 / v1) + (v1 + (mu1[i]! - mu2[i]!) ** 2) / v2 - 1;
  }
  return 0.5 * kl;
}

export interface MmdOptions {
  kernel?: 'rbf' | 'polynomial';
  /** RBF bandwidth σ in exp(−‖x−y‖²/(2σ²)); default: the median pairwise distance of the pooled sets. */
  sigma?: number;
  /** Polynomial kernel (γ xᵀy + c)^degree; defaults 1/d, 1, 3 (KID's kernel). */
  degree?: number;
  gamma?: number;
  coef0?: number;
  /** 'unbiased' (default, U-statistic, can be slightly negative) or 'biased' (V-statistic, ≥ 0). */
  estimator?: 'unbiased' | 'biased';
}

/** Squared maximum mean discrepancy between two N×d sets with an RBF or polynomial kernel. */
export function mmd(a: MatrixLike, b: MatrixLike, options: MmdOptions = {}): MetricResult {
  const x = toMatrix('mmd: a', a, 2);
  const y = toMatrix('mmd: b', b, 2);
  sameCols(x, y, 'mmd');
  const kernel = options.kernel ?? 'rbf';
  const d = x.cols;
  let k: (sq: number, dot: number) => number;
  let sigma = options.sigma;
  const dxx = squaredDistances(x, x);
  const dyy = squaredDistances(y, y);
  const dxy = squaredDistances(x, y);
  if (kernel === 'rbf') {
    if (sigma === undefined) {
      const all: number[] = [];
      for (const m of [dxx, dyy]) for (let i = 0; i < m.length; i++) if (m[i]! > 0) all.push(m[i]!);
      for (let i = 0; i < dxy.length; i++) all.push(dxy[i]!);
      all.sort((p, q) => p - q);
      sigma = Math.sqrt(all[Math.floor(all.length / 2)] ?? 1) || 1;
    }
    if (!(sigma > 0)) throw new InvalidArgumentError(`mmd: sigma must be > 0, got ${sigma}`);
    const s2 = 2 * sigma * sigma;
    k = (sq) => Math.exp(-sq / s2);
  } else if (kernel === 'polynomial') {
    const g = options.gamma ?? 1 / d;
    const c = options.coef0 ?? 1;
    const p = options.degree ?? 3;
    k = (_sq, dot) => (g * dot + c) ** p;
  } else {
    throw new InvalidArgumentError(`mmd: kernel must be rbf or polynomial, got ${JSON.stringify(kernel)}`);
  }
  const dot = (m: typeof x, i: number, n: typeof x, j: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += m.data[i * d + t]! * n.data[j * d + t]!;
    return s;
  };
  const unbiased = (options.estimator ?? 'unbiased') === 'unbiased';
  const within = (m: typeof x, dist: Float64Array) => {
    let s = 0;
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.rows; j++) if (!unbiased || i !== j) s += k(dist[i * m.rows + j]!, kernel === 'rbf' ? 0 : dot(m, i, m, j));
    return s / (unbiased ? m.rows * (m.rows - 1) : m.rows * m.rows);
  };
  let cross = 0;
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < y.rows; j++) cross += k(dxy[i * y.rows + j]!, kernel === 'rbf' ? 0 : dot(x, i, y, j));
  cross /= x.rows * y.rows;
  const value = within(x, dxx) + within(y, dyy) - 2 * cross;
  return {
    name: 'mmd2', value, higherIsBetter: false,
    signature: `mmd2|${kernel}${kernel === 'rbf' ? `|sigma:${sigma}` : `|degree:${options.degree ?? 3}`}|${unbiased ? 'unbiased' : 'biased'}`,
    details: { kernel, sigma: sigma ?? null, estimator: unbiased ? 'unbiased' : 'biased' },
  };
}

/**
 * Bits per dimension from a negative log-likelihood in nats of one sample with `dims` dimensions
 * (pixels × channels): nll / (dims · ln 2). When the nll is a density of 8-bit data rescaled to
 * [0, 1], pass `dequantizationBits: 8`: the discrete likelihood is the density's minus dims · ln 256,
 * so bpd = (nll + dims · ln 256) / (dims · ln 2), the convention of Real NVP / Glow / PixelCNN papers.
 */
export function bitsPerDim(nllNats: number, dims: number, options: { dequantizationBits?: number } = {}): number {
  if (!Number.isFinite(nllNats)) throw new InvalidArgumentError(`bitsPerDim: nll must be finite, got ${nllNats}`);
  if (!(Number.isInteger(dims) && dims > 0)) throw new InvalidArgumentError(`bitsPerDim: dims must be a positive integer, got ${dims}`);
  const extra = options.dequantizationBits ? dims * options.dequantizationBits * Math.LN2 : 0;
  return (nllNats + extra) / (dims * Math.LN2);
}
