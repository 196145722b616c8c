import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { gatherCoef, splitPrediction, type PredictionType } from './forward.js';
import type { NoiseSchedule } from './schedule.js';

/**
 * How the reverse-process variance Σ_θ(x_t, t) is chosen (improved-diffusion's ModelVarType,
 * diffusers' variance_type): 'fixed_small' β̃_t, 'fixed_large' β_t, or 'learned_range' (Nichol &
 * Dhariwal 2021): the model emits extra channels v and Σ = exp(f·log β_t + (1 − f)·log β̃_t), f = (v + 1)/2.
 */
export type VarianceType = 'fixed_small' | 'fixed_large' | 'learned_range';

export const VARIANCE_TYPES: readonly VarianceType[] = ['fixed_small', 'fixed_large', 'learned_range'];

export function checkVarianceType(v: string, who: string): VarianceType {
  if (!VARIANCE_TYPES.includes(v as VarianceType)) throw new InvalidArgumentError(`${who}: unknown varianceType ${JSON.stringify(v)}; use ${VARIANCE_TYPES.join(', ')}`);
  return v as VarianceType;
}

/** Posterior q(x_{t−1} | x_t, x₀) coefficients in float64 (ᾱ_{−1} = 1), as improved-diffusion's GaussianDiffusion. */
export interface Posterior {
  /** β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t); 0 at t = 0. */
  variance: Float64Array;
  /** log β̃_t with t = 0 replaced by t = 1 (β̃_0 = 0 has no log). */
  logVarianceClipped: Float64Array;
  /** log β_t with t = 0 replaced by log β̃_1 ('fixed_large'). */
  logBetasLarge: Float64Array;
  logBetas: Float64Array;
  /** μ̃ = coef1·x₀ + coef2·x_t. */
  meanCoef1: Float64Array;
  meanCoef2: Float64Array;
}

const cache = new WeakMap<NoiseSchedule, Posterior>();

export function posterior(schedule: NoiseSchedule): Posterior {
  let p = cache.get(schedule);
  if (p) return p;
  const T = schedule.numTrainTimesteps;
  const { betas, alphas, alphasCumprod: ab } = schedule;
  const variance = new Float64Array(T);
  const meanCoef1 = new Float64Array(T);
  const meanCoef2 = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const prev = t > 0 ? ab[t - 1]! : 1;
    variance[t] = (betas[t]! * (1 - prev)) / (1 - ab[t]!);
    meanCoef1[t] = (betas[t]! * Math.sqrt(prev)) / (1 - ab[t]!);
    meanCoef2[t] = ((1 - prev) * Math.sqrt(alphas[t]!)) / (1 - ab[t]!);
  }
  const logVarianceClipped = variance.map((v, t) => Math.log(t === 0 ? variance[1]! : v));
  const logBetas = betas.map(Math.log);
  const logBetasLarge = logBetas.map((v, t) => (t === 0 ? Math.log(variance[1]!) : v));
  p = { variance, logVarianceClipped, logBetasLarge, logBetas, meanCoef1, meanCoef2 };
  cache.set(schedule, p);
  return p;
}

/** KL(N(μ₁, e^{lv₁}) ‖ N(μ₂, e^{lv₂})) elementwise, in nats (broadcasting). */
export function normalKl(mean1: Tensor | number, logvar1: Tensor | number, mean2: Tensor | number, logvar2: Tensor | number): Tensor {
  return tf.tidy(() => {
    const d = tf.sub(mean1, mean2);
    const dl = tf.sub(logvar2, logvar1);
    return tf.mul(0.5, tf.add(tf.add(tf.sub(dl, 1), tf.exp(tf.neg(dl))), tf.mul(tf.square(d), tf.exp(tf.neg(logvar2)))));
  });
}

/** Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³))), the approximation improved-diffusion's decoder uses. */
export function approxStandardNormalCdf(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(0.5, tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))));
}

/**
 * log-likelihood of discretised data (Ho et al. 2020's decoder, improved-diffusion's
 * discretized_gaussian_log_likelihood): x on a grid of `levels` values in [−1, 1] (8-bit images:
 * 256), each owning the bin x ± 1/(levels − 1) under N(mean, e^{2·logScale}); the end bins extend to
 * ±∞. Elementwise, in nats; probabilities floored at 1e−12.
 */
export function discretizedGaussianLogLikelihood(x: Tensor, means: Tensor, logScales: Tensor, levels = 256): Tensor {
  if (!Number.isInteger(levels) || levels < 2) throw new InvalidArgumentError(`discretizedGaussianLogLikelihood: levels must be an integer ≥ 2, got ${levels}`);
  const half = 1 / (levels - 1);
  return tf.tidy(() => {
    const centered = tf.sub(x, means);
    const invStd = tf.exp(tf.neg(logScales));
    const cdfPlus = approxStandardNormalCdf(tf.mul(invStd, tf.add(centered, half)));
    const cdfMin = approxStandardNormalCdf(tf.mul(invStd, tf.sub(centered, half)));
    const logCdfPlus = tf.log(tf.maximum(cdfPlus, 1e-12));
    const logOneMinusCdfMin = tf.log(tf.maximum(tf.sub(1, cdfMin), 1e-12));
    const logDelta = tf.log(tf.maximum(tf.sub(cdfPlus, cdfMin), 1e-12));
    // The end values own everything beyond them; −1 + half is the midpoint to the next grid value.
    return tf.where(tf.less(x, -1 + half), logCdfPlus, tf.where(tf.greater(x, 1 - half), logOneMinusCdfMin, logDelta));
  });
}

/** Splits a [.., 2C] learned-variance output into the prediction [.., C] and the variance values [.., C] (last axis). */
export function splitVarianceChannels(output: Tensor, sample: Tensor): [Tensor, Tensor] {
  const c = sample.shape[sample.rank - 1]!;
  const lead = sample.shape.slice(0, -1).join();
  if (output.rank !== sample.rank || output.shape.slice(0, -1).join() !== lead || output.shape[output.rank - 1] !== 2 * c) {
    throw new ShapeError(`learned variance: expected a model output [${[...sample.shape.slice(0, -1), 2 * c].join(', ')}] (prediction and variance channels), got [${output.shape.join(', ')}]`);
  }
  return tf.split(output, 2, output.rank - 1) as [Tensor, Tensor];
}

/** True when `output` carries variance channels next to the prediction ([.., 2C] for a [.., C] sample). */
export function hasVarianceChannels(output: Tensor, sample: Tensor): boolean {
  return output.rank === sample.rank && output.shape[output.rank - 1] === 2 * sample.shape[sample.rank - 1]! && output.shape.slice(0, -1).join() === sample.shape.slice(0, -1).join();
}

export interface ReverseOptions {
  predictionType?: PredictionType;
  varianceType?: VarianceType;
  /** Clip x̂₀ to [−1, 1] before forming the mean (improved-diffusion's clip_denoised). */
  clipDenoised?: boolean;
}

/**
 * p_θ(x_{t−1} | x_t) = N(μ̃(x̂₀, x_t), Σ) for integer timesteps t [B] (int32): the model output is
 * turned into x̂₀ (any prediction type) and the posterior mean; the log-variance follows varianceType.
 * Returned tensors broadcast against x_t; the caller owns them.
 */
export function pMeanVariance(schedule: NoiseSchedule, output: Tensor, xt: Tensor, t: Tensor, options: ReverseOptions = {}): { mean: Tensor; logVariance: Tensor; x0: Tensor } {
  const type = options.predictionType ?? 'epsilon';
  const vt = checkVarianceType(options.varianceType ?? 'fixed_small', 'pMeanVariance');
  const post = posterior(schedule);
  return tf.tidy(() => {
    let pred = output;
    let logVariance: Tensor;
    const r = xt.rank;
    if (vt === 'learned_range') {
      const [p, v] = splitVarianceChannels(output, xt);
      pred = p;
      const frac = tf.div(tf.add(v, 1), 2);
      const maxLog = gatherCoef(post.logBetas, t, r);
      const minLog = gatherCoef(post.logVarianceClipped, t, r);
      logVariance = tf.add(tf.mul(frac, maxLog), tf.mul(tf.sub(1, frac), minLog));
    } else {
      if (output.shape.join() !== xt.shape.join()) throw new ShapeError(`pMeanVariance: model output [${output.shape.join(', ')}] must match x_t [${xt.shape.join(', ')}] for varianceType ${vt}`);
      logVariance = gatherCoef(vt === 'fixed_small' ? post.logVarianceClipped : post.logBetasLarge, t, r);
    }
    const a = gatherCoef(schedule.sqrtAlphasCumprod, t, r);
    const b = gatherCoef(schedule.sqrtOneMinusAlphasCumprod, t, r);
    let { x0 } = splitPrediction(type, pred, xt, a, b);
    if (options.clipDenoised) x0 = tf.clipByValue(x0, -1, 1);
    const mean = tf.add(tf.mul(gatherCoef(post.meanCoef1, t, r), x0), tf.mul(gatherCoef(post.meanCoef2, t, r), xt));
    return { mean, logVariance, x0 };
  }) as { mean: Tensor; logVariance: Tensor; x0: Tensor };
}

/** Mean over all but the first axis: [B, …] → [B]. */
function meanFlat(x: Tensor): Tensor {
  return tf.mean(tf.reshape(x, [x.shape[0]!, -1]), 1);
}

/**
 * The per-sample variational-bound term L_t in bits per dimension (improved-diffusion's
 * _vb_terms_bpd): for t > 0 the KL(q(x_{t−1} | x_t, x₀) ‖ p_θ(x_{t−1} | x_t)); at t = 0 the
 * discretised-Gaussian decoder NLL −log p_θ(x₀ | x_t). x0 is the data (on the `levels` grid in [−1, 1]).
 * Returns [B]; the caller owns it.
 */
export function vbTermsBpd(schedule: NoiseSchedule, x0: Tensor, xt: Tensor, t: Tensor, output: Tensor, options: ReverseOptions & { levels?: number } = {}): Tensor {
  const post = posterior(schedule);
  return tf.tidy(() => {
    const ti = tf.cast(t, 'int32');
    const r = xt.rank;
    const trueMean = tf.add(tf.mul(gatherCoef(post.meanCoef1, ti, r), x0), tf.mul(gatherCoef(post.meanCoef2, ti, r), xt));
    const trueLogVar = gatherCoef(post.logVarianceClipped, ti, r);
    const p = pMeanVariance(schedule, output, xt, ti, options);
    const kl = tf.div(meanFlat(normalKl(trueMean, trueLogVar, p.mean, p.logVariance)), Math.LN2);
    const nll = tf.div(meanFlat(tf.neg(discretizedGaussianLogLikelihood(x0, p.mean, tf.mul(0.5, p.logVariance), options.levels))), Math.LN2);
    return tf.where(tf.equal(ti, 0), nll, kl);
  });
}

/** KL(q(x_{T−1} | x₀) ‖ N(0, I)) per sample in bits per dimension (the prior term L_T). */
export function priorBpd(schedule: NoiseSchedule, x0: Tensor): Tensor {
  const T = schedule.numTrainTimesteps;
  const ab = schedule.alphasCumprod[T - 1]!;
  return tf.tidy(() => {
    // log(1 − ᾱ) = 0 exactly at a zero-terminal-SNR step
    const kl = normalKl(tf.mul(x0, Math.sqrt(ab)), Math.log1p(-ab), 0, 0);
    return tf.div(meanFlat(kl), Math.LN2);
  });
}
