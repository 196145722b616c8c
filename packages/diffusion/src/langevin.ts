import { assertPositiveInt, InvalidArgumentError, rngFor, ShapeError, tf, type Rng, type Tensor } from '@nutshell/core';
import { checkPredictionType, splitPrediction, type PredictionType } from './forward.js';
import type { Conditioning, Denoiser } from './models/denoiser.js';
import type { NoiseSchedule } from './schedule.js';
import { finiteSigmas } from './schedulers/sigmas.js';
import { sigmaToT } from './spacing.js';
import { hasVarianceChannels, splitVarianceChannels } from './variational.js';

/** ∇ₓ log p_σ(x): the score of the data perturbed by N(0, σ²I), at x in the data's (VE) space. */
export type ScoreFn = (x: Tensor, sigma: number) => Tensor;

/** σ_1 > … > σ_L, geometric between sigmaMax and sigmaMin (NCSN's noise levels). */
export function geometricSigmas(sigmaMax: number, sigmaMin: number, levels: number): number[] {
  assertPositiveInt('geometricSigmas levels', levels);
  if (!(sigmaMax > 0 && sigmaMin > 0 && sigmaMax >= sigmaMin)) throw new InvalidArgumentError(`geometricSigmas: need sigmaMax ≥ sigmaMin > 0, got ${sigmaMax}, ${sigmaMin}`);
  if (levels === 1) return [sigmaMax];
  const r = Math.log(sigmaMin / sigmaMax) / (levels - 1);
  return Array.from({ length: levels }, (_, i) => (i === levels - 1 ? sigmaMin : sigmaMax * Math.exp(r * i)));
}

/**
 * The score of a diffusion denoiser (any prediction type): at VE level σ the model sees
 * x/√(1 + σ²) at the fractional timestep whose σ_t = σ (log-σ interpolation, as Karras-spaced
 * schedulers), and score = −ε̂/σ. σ must lie in the schedule's range [σ_0, σ_{T−1}].
 */
export function scoreFromDenoiser(model: Denoiser, schedule: NoiseSchedule, options: { predictionType?: PredictionType; cond?: Conditioning } = {}): ScoreFn {
  const type = checkPredictionType(options.predictionType ?? 'epsilon');
  const table = finiteSigmas(schedule);
  const logSigmas = table.map(Math.log);
  const lo = table[0]!;
  const hi = table[table.length - 1]!;
  return (x: Tensor, sigma: number): Tensor => {
    if (!(sigma >= lo * (1 - 1e-9) && sigma <= hi * (1 + 1e-9))) {
      throw new InvalidArgumentError(`scoreFromDenoiser: σ = ${sigma} lies outside the schedule's range [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]`);
    }
    const t = sigmaToT(sigma, logSigmas);
    const a = 1 / Math.sqrt(1 + sigma * sigma);
    const b = sigma * a;
    return tf.tidy(() => {
      const xin = tf.mul(x, a);
      let out = model.forward(xin, tf.fill([x.shape[0]!], t, 'float32'), options.cond);
      if (hasVarianceChannels(out, xin)) out = splitVarianceChannels(out, xin)[0];
      const { eps } = splitPrediction(type, out, xin, a, b);
      return tf.mul(eps, -1 / sigma);
    });
  };
}

export interface AnnealedLangevinOptions {
  /** The score ∇ₓ log p_σ(x) at each noise level (an exact one, or scoreFromDenoiser(model, schedule)). */
  score: ScoreFn;
  /** Output shape [batch, …]. */
  shape: number[];
  /** Noise levels, decreasing (default geometricSigmas(1, 0.01, 10), NCSN's MNIST setting). */
  sigmas?: number[];
  /** Langevin steps T per level (default 100). */
  stepsPerLevel?: number;
  /** ε in α_i = ε·σ_i²/σ_L² (default 2e−5). */
  stepSize?: number;
  /** Finish with one denoising step x + σ_L²·s(x, σ_L) (Tweedie's E[x₀ | x]; NCSNv2). Default false. */
  denoise?: boolean;
  /** Starting point (default N(0, σ_1² I)); not disposed. */
  init?: Tensor;
  rng?: Rng | number | string;
  /** Called after each level. */
  onLevel?: (info: { level: number; sigma: number; stepSize: number }) => void;
}

export interface AnnealedLangevinResult {
  samples: Tensor;
  scoreCalls: number;
}

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): for each σ_i of a decreasing sequence,
 * α_i = ε·σ_i²/σ_L² and T steps of x ← x + (α_i/2)·s(x, σ_i) + √α_i·z, z ~ N(0, I).
 */
export function annealedLangevin(options: AnnealedLangevinOptions): AnnealedLangevinResult {
  const { score, shape } = options;
  if (!Array.isArray(shape) || shape.length < 1) throw new InvalidArgumentError(`annealedLangevin: shape must be [batch, …], got ${JSON.stringify(shape)}`);
  shape.forEach((d) => assertPositiveInt('annealedLangevin shape entry', d));
  const sigmas = options.sigmas ?? geometricSigmas(1, 0.01, 10);
  if (!sigmas.length || sigmas.some((s) => !(s > 0) || !Number.isFinite(s))) throw new InvalidArgumentError(`annealedLangevin: sigmas must be positive and finite, got ${JSON.stringify(sigmas)}`);
  for (let i = 1; i < sigmas.length; i++) if (sigmas[i]! > sigmas[i - 1]!) throw new InvalidArgumentError('annealedLangevin: sigmas must be non-increasing (σ_1 ≥ … ≥ σ_L)');
  const T = options.stepsPerLevel ?? 100;
  assertPositiveInt('annealedLangevin stepsPerLevel', T);
  const eps = options.stepSize ?? 2e-5;
  if (!(eps > 0)) throw new InvalidArgumentError(`annealedLangevin: stepSize must be > 0, got ${eps}`);
  if (options.init && options.init.shape.join() !== shape.join()) throw new ShapeError(`annealedLangevin: init [${options.init.shape.join(', ')}] must have the shape [${shape.join(', ')}]`);
  const rng = rngFor(options.rng ?? 0);
  const last = sigmas[sigmas.length - 1]!;
  let x = options.init ? tf.clone(options.init) : tf.tidy(() => tf.mul(rng.normalTensor(shape), sigmas[0]!));
  let calls = 0;
  const grad = (cur: Tensor, sigma: number): Tensor => {
    const s = score(cur, sigma);
    calls++;
    if (s.shape.join() !== cur.shape.join()) {
      s.dispose();
      throw new ShapeError(`annealedLangevin: the score must have the sample's shape [${cur.shape.join(', ')}]`);
    }
    return s;
  };
  try {
    sigmas.forEach((sigma, level) => {
      const alpha = (eps * sigma * sigma) / (last * last);
      for (let k = 0; k < T; k++) {
        const s = grad(x, sigma);
        const next = tf.tidy(() => tf.add(tf.add(x, tf.mul(s, alpha / 2)), tf.mul(rng.normalTensor(shape), Math.sqrt(alpha))));
        s.dispose();
        x.dispose();
        x = next;
      }
      options.onLevel?.({ level, sigma, stepSize: alpha });
    });
    if (options.denoise) {
      const s = grad(x, last);
      const next = tf.tidy(() => tf.add(x, tf.mul(s, last * last)));
      s.dispose();
      x.dispose();
      x = next;
    }
  } catch (e) {
    x.dispose();
    throw e;
  }
  return { samples: x, scoreCalls: calls };
}
