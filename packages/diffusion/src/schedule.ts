import { InvalidArgumentError } from '@nutshell/core';

/** β-schedule families, named as in diffusers' `beta_schedule` (with `cosine` as an alias of squaredcos_cap_v2). */
export type BetaScheduleName = 'linear' | 'scaled-linear' | 'cosine' | 'sigmoid';

export interface NoiseScheduleOptions {
  /** Training timesteps T (default 1000). */
  numTrainTimesteps?: number;
  /** 'linear' (DDPM, default), 'scaled-linear' (Stable Diffusion), 'cosine' (Nichol & Dhariwal), 'sigmoid'. */
  betaSchedule?: BetaScheduleName;
  /** β_1 for linear / scaled-linear / sigmoid (default 1e-4). */
  betaStart?: number;
  /** β_T for linear / scaled-linear / sigmoid (default 0.02). */
  betaEnd?: number;
  /** Cap on β for the cosine schedule (default 0.999, as diffusers' betas_for_alpha_bar). */
  maxBeta?: number;
  /** Rescale so the last step has zero SNR (Lin et al. 2023, "Common diffusion noise schedules are flawed"). */
  rescaleZeroTerminalSnr?: boolean;
  /** Explicit β values (overrides betaSchedule). */
  betas?: ArrayLike<number>;
}

/** Nichol & Dhariwal's ᾱ(t) = cos²((t + s)/(1 + s) · π/2), s = 0.008; t ∈ [0, 1]. */
export function cosineAlphaBar(t: number): number {
  return Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
}

/** β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta), as diffusers' betas_for_alpha_bar. */
export function betasForAlphaBar(n: number, alphaBar: (t: number) => number = cosineAlphaBar, maxBeta = 0.999): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta);
  return out;
}

function linspace(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? a : a + ((b - a) * i) / (n - 1);
  return out;
}

/** The β array of a named schedule. */
export function makeBetas(name: BetaScheduleName, n: number, betaStart = 1e-4, betaEnd = 0.02, maxBeta = 0.999): Float64Array {
  switch (name) {
    case 'linear':
      return linspace(betaStart, betaEnd, n);
    case 'scaled-linear':
      return linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), n).map((v) => v * v);
    case 'cosine':
      return betasForAlphaBar(n, cosineAlphaBar, maxBeta);
    case 'sigmoid':
      return linspace(-6, 6, n).map((v) => (1 / (1 + Math.exp(-v))) * (betaEnd - betaStart) + betaStart);
    default:
      throw new InvalidArgumentError(`makeBetas: unknown beta schedule ${JSON.stringify(name)}; use linear, scaled-linear, cosine or sigmoid`);
  }
}

/**
 * Lin et al. (2023), Algorithm 1: shifts and scales √ᾱ so that √ᾱ_T = 0 while √ᾱ_1 is unchanged,
 * then recovers β. The last β becomes 1 (pure noise at t = T).
 */
export function rescaleZeroTerminalSnr(betas: ArrayLike<number>): Float64Array {
  const n = betas.length;
  const s = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    prod *= 1 - betas[i]!;
    s[i] = Math.sqrt(prod);
  }
  const s0 = s[0]!;
  const sT = s[n - 1]!;
  if (!(s0 > sT)) throw new InvalidArgumentError('rescaleZeroTerminalSnr: ᾱ must decrease over the schedule');
  const out = new Float64Array(n);
  let prevAb = 1;
  for (let i = 0; i < n; i++) {
    const v = ((s[i]! - sT) * s0) / (s0 - sT);
    const ab = v * v;
    out[i] = 1 - (i === 0 ? ab : ab / prevAb);
    prevAb = ab;
  }
  return out;
}

/**
 * A discrete variance-preserving noise schedule with every derived quantity precomputed in float64:
 * β, α = 1 − β, ᾱ = ∏α, √ᾱ, √(1 − ᾱ), σ = √((1 − ᾱ)/ᾱ) (the equivalent VE noise level),
 * SNR = ᾱ/(1 − ᾱ) and log-SNR. Index t runs 0 … T−1 (diffusers' convention).
 */
export class NoiseSchedule {
  readonly numTrainTimesteps: number;
  readonly betaSchedule: BetaScheduleName | 'custom';
  readonly zeroTerminalSnr: boolean = false;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly sqrtAlphasCumprod: Float64Array;
  readonly sqrtOneMinusAlphasCumprod: Float64Array;
  /** σ_t = √((1 − ᾱ)/ᾱ); infinite at a zero-SNR terminal step. */
  readonly sigmas: Float64Array;
  readonly snr: Float64Array;
  readonly logSnr: Float64Array;

  constructor(options: NoiseScheduleOptions = {}) {
    const T = options.numTrainTimesteps ?? options.betas?.length ?? 1000;
    if (!Number.isInteger(T) || T < 2) throw new InvalidArgumentError(`NoiseSchedule: numTrainTimesteps must be an integer ≥ 2, got ${T}`);
    this.numTrainTimesteps = T;
    const start = options.betaStart ?? 1e-4;
    const end = options.betaEnd ?? 0.02;
    if (!options.betas && !(start > 0 && end > 0 && start < 1 && end < 1)) {
      throw new InvalidArgumentError(`NoiseSchedule: betaStart and betaEnd must lie in (0, 1), got ${start}, ${end}`);
    }
    let betas: Float64Array;
    if (options.betas) {
      if (options.betas.length !== T) throw new InvalidArgumentError(`NoiseSchedule: ${options.betas.length} betas given for ${T} timesteps`);
      betas = Float64Array.from(options.betas);
      this.betaSchedule = 'custom';
    } else {
      this.betaSchedule = options.betaSchedule ?? 'linear';
      betas = makeBetas(this.betaSchedule, T, start, end, options.maxBeta ?? 0.999);
    }
    for (let i = 0; i < T; i++) {
      const b = betas[i]!;
      // β_T = 1 is allowed: it is what a zero-terminal-SNR schedule saved with toJSON() holds.
      if (!(b > 0 && (b < 1 || (b === 1 && i === T - 1)))) throw new InvalidArgumentError(`NoiseSchedule: every β must lie in (0, 1); β[${i}] = ${b}`);
    }
    if (options.rescaleZeroTerminalSnr) betas = rescaleZeroTerminalSnr(betas);
    this.betas = betas;
    this.alphas = betas.map((b) => 1 - b);
    this.alphasCumprod = new Float64Array(T);
    let p = 1;
    for (let i = 0; i < T; i++) this.alphasCumprod[i] = p *= this.alphas[i]!;
    if (betas[T - 1] === 1) this.zeroTerminalSnr = true;
    if (this.zeroTerminalSnr) this.alphasCumprod[T - 1] = 0; // exact zero rather than rounding residue
    this.sqrtAlphasCumprod = this.alphasCumprod.map(Math.sqrt);
    this.sqrtOneMinusAlphasCumprod = this.alphasCumprod.map((a) => Math.sqrt(1 - a));
    this.sigmas = this.alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
    this.snr = this.alphasCumprod.map((a) => a / (1 - a));
    this.logSnr = this.snr.map(Math.log);
  }

  /** ᾱ at a (possibly fractional) timestep, interpolating σ linearly in t as diffusers' Euler schedulers do. */
  alphaCumprodAt(t: number): number {
    const s = this.sigmaAt(t);
    return 1 / (1 + s * s);
  }

  /** σ at a fractional timestep: linear interpolation of σ over integer t (np.interp), clamped to [0, T−1]. */
  sigmaAt(t: number): number {
    const T = this.numTrainTimesteps;
    if (t <= 0) return this.sigmas[0]!;
    if (t >= T - 1) return this.sigmas[T - 1]!;
    const i = Math.floor(t);
    const w = t - i;
    return w === 0 ? this.sigmas[i]! : (1 - w) * this.sigmas[i]! + w * this.sigmas[i + 1]!;
  }

  /** The schedule's options, for saving next to a model. */
  toJSON(): { numTrainTimesteps: number; betas: number[]; betaSchedule: string; zeroTerminalSnr: boolean } {
    return { numTrainTimesteps: this.numTrainTimesteps, betas: Array.from(this.betas), betaSchedule: this.betaSchedule, zeroTerminalSnr: this.zeroTerminalSnr };
  }
}

/** Accepts a schedule or its options. */
export function toSchedule(s: NoiseSchedule | NoiseScheduleOptions | undefined): NoiseSchedule {
  return s instanceof NoiseSchedule ? s : new NoiseSchedule(s ?? {});
}
