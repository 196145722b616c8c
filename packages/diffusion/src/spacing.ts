import { InvalidArgumentError } from '@nutshell/core';

/** How inference timesteps are laid over the training ones (diffusers' `timestep_spacing`). */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

export function checkSteps(n: number, T: number, who: string): void {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${who}: number of inference steps must be a positive integer, got ${n}`);
  if (n > T) throw new InvalidArgumentError(`${who}: ${n} inference steps exceed the ${T} training timesteps`);
}

/**
 * Descending timesteps for n steps out of T, as diffusers' DDPM/DDIM/Euler `set_timesteps`:
 * linspace: linspace(0, T−1, n) reversed (rounded for integer schedulers);
 * leading: (0, r, 2r, …)·reversed + offset with r = ⌊T/n⌋; trailing: round(T, T − T/n, …) − 1.
 */
export function spacedTimesteps(spacing: TimestepSpacing, n: number, T: number, options: { stepsOffset?: number; round?: boolean } = {}): number[] {
  const offset = options.stepsOffset ?? 0;
  const round = options.round ?? true;
  const out: number[] = [];
  if (spacing === 'linspace') {
    for (let i = n - 1; i >= 0; i--) {
      const v = n === 1 ? 0 : ((T - 1) * i) / (n - 1);
      out.push(round ? roundHalfEven(v) : v);
    }
  } else if (spacing === 'leading') {
    const r = Math.floor(T / n);
    for (let i = n - 1; i >= 0; i--) out.push(i * r + offset);
  } else if (spacing === 'trailing') {
    // np.arange(T, 0, −T/n): length ⌈T/r⌉ and values T − i·r, exactly as numpy computes them.
    const r = T / n;
    const len = Math.ceil((0 - T) / -r);
    for (let i = 0; i < len; i++) out.push(roundHalfEven(T + i * -r) - 1);
  } else {
    throw new InvalidArgumentError(`unknown timestep spacing ${JSON.stringify(spacing)}; use ${TIMESTEP_SPACINGS.join(', ')}`);
  }
  return out;
}

/** DPM-Solver's variant: n + 1 points with the last (t = 0) dropped, so the final step lands on σ = 0. */
export function dpmTimesteps(spacing: TimestepSpacing, n: number, T: number, stepsOffset = 0): number[] {
  if (spacing === 'linspace') {
    const out: number[] = [];
    for (let i = n; i >= 1; i--) out.push(roundHalfEven(((T - 1) * i) / n));
    return out;
  }
  if (spacing === 'leading') {
    const r = Math.floor(T / (n + 1));
    const out: number[] = [];
    for (let i = n; i >= 1; i--) out.push(i * r + stepsOffset);
    return out;
  }
  return spacedTimesteps(spacing, n, T, { stepsOffset });
}

/** numpy's round (half to even), which diffusers' spacings use. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Karras et al. (2022) σ_i = (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const lo = sigmaMin ** (1 / rho);
  const hi = sigmaMax ** (1 / rho);
  return Array.from({ length: n }, (_, i) => (hi + (n === 1 ? 0 : i / (n - 1)) * (lo - hi)) ** rho);
}

/** The fractional timestep whose σ is `sigma`, interpolating log σ linearly (diffusers' _sigma_to_t). */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const ls = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  // low = last index with logSigmas[i] ≤ ls (σ increases with t), clipped to n − 2.
  let count = 0;
  for (let i = 0; i < n; i++) if (ls - logSigmas[i]! >= 0) count++;
  let low = count === 0 ? 0 : count - 1;
  if (low > n - 2) low = n - 2;
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(1, Math.max(0, (lo - ls) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** np.interp over integer knots 0…len−1. */
export function interpAt(t: number, table: Float64Array): number {
  if (t <= 0) return table[0]!;
  if (t >= table.length - 1) return table[table.length - 1]!;
  const i = Math.floor(t);
  const w = t - i;
  return w === 0 ? table[i]! : (1 - w) * table[i]! + w * table[i + 1]!;
}
