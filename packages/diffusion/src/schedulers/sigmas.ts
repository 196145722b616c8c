import type { NoiseSchedule } from '../schedule.js';
import { interpAt, karrasSigmas, sigmaToT, spacedTimesteps, type TimestepSpacing } from '../spacing.js';

/** σ_t table with a zero-SNR terminal clamped to ᾱ = 2⁻²⁴, as diffusers' Euler schedulers do. */
export function finiteSigmas(schedule: NoiseSchedule): Float64Array {
  return schedule.alphasCumprod.map((a) => {
    const ab = a === 0 ? 2 ** -24 : a;
    return Math.sqrt((1 - ab) / ab);
  });
}

/**
 * Fractional timesteps and σ levels (ending in 0) of the k-diffusion-style schedulers (Euler,
 * Euler-ancestral, Heun): σ interpolated linearly at the spaced timesteps, or Karras σ between the
 * same end points with timesteps mapped back through log σ.
 */
export function eulerSigmas(schedule: NoiseSchedule, spacing: TimestepSpacing, n: number, stepsOffset: number, karras: boolean): { timesteps: number[]; sigmas: number[] } {
  const table = finiteSigmas(schedule);
  let timesteps = spacedTimesteps(spacing, n, schedule.numTrainTimesteps, { stepsOffset, round: false });
  let sigmas = timesteps.map((t) => interpAt(t, table));
  if (karras) {
    const logSigmas = table.map(Math.log);
    sigmas = karrasSigmas(sigmas[sigmas.length - 1]!, sigmas[0]!, n);
    timesteps = sigmas.map((s) => sigmaToT(s, logSigmas));
  }
  return { timesteps, sigmas: [...sigmas, 0] };
}

/** diffusers' quirk: the start scale is σ_max for linspace/trailing spacing and √(σ_max² + 1) for leading. */
export function eulerInitNoiseSigma(sigmas: number[], spacing: TimestepSpacing): number {
  const m = Math.max(...sigmas);
  return spacing === 'leading' ? Math.sqrt(m * m + 1) : m;
}

/** x̂₀ from a model output in VE space at level σ (the model saw x/√(σ² + 1)). */
export function veX0Coefficients(type: 'epsilon' | 'sample' | 'v_prediction', sigma: number): { sampleCoef: number; outputCoef: number } {
  if (type === 'epsilon') return { sampleCoef: 1, outputCoef: -sigma };
  if (type === 'sample') return { sampleCoef: 0, outputCoef: 1 };
  return { sampleCoef: 1 / (sigma * sigma + 1), outputCoef: -sigma / Math.sqrt(sigma * sigma + 1) };
}
