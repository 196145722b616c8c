import { InvalidArgumentError, Rng, rngFor, tf, type Tensor } from '@nutshell/core';
import { gatherCoef, predictionTarget, addNoise, type PredictionType } from './forward.js';
import type { NoiseSchedule } from './schedule.js';
import type { Conditioning, Denoiser } from './models/denoiser.js';
import { stopGradient } from './stop-gradient.js';
import { checkVarianceType, hasVarianceChannels, splitVarianceChannels, vbTermsBpd, type VarianceType } from './variational.js';

/**
 * Min-SNR-γ loss weights (Hang et al. 2023) per timestep, expressed for the prediction type so that
 * every type optimises the same x₀-space objective min(SNR, γ)·‖x₀ − x̂₀‖²:
 * ε: min(SNR, γ)/SNR, x₀: min(SNR, γ), v: min(SNR, γ)/(SNR + 1).
 */
export function minSnrWeights(schedule: NoiseSchedule, gamma: number, type: PredictionType): Float64Array {
  if (!(gamma > 0)) throw new InvalidArgumentError(`minSnrWeights: gamma must be > 0, got ${gamma}`);
  return schedule.snr.map((snr) => {
    const m = Math.min(snr, gamma);
    if (type === 'epsilon') return snr === 0 ? 0 : m / snr;
    if (type === 'sample') return m;
    return m / (snr + 1);
  });
}

export interface DiffusionLossOptions {
  schedule: NoiseSchedule;
  predictionType?: PredictionType;
  /** Min-SNR-γ weighting (γ = 5 in the paper); off by default. */
  minSnrGamma?: number;
  /** Conditioning passed to the model (class labels, concatenated low-res image). */
  cond?: Conditioning;
  /**
   * Classifier-free guidance training: probability of replacing each class label by the null
   * class (`nullClass`, default the model's numClasses).
   */
  condDropout?: number;
  nullClass?: number;
  /** Seeded stream for timesteps, noise and condition dropout. */
  rng?: Rng | number | string;
  /** Fixed timesteps / noise (tests); drawn when omitted. */
  timesteps?: ArrayLike<number>;
  noise?: Tensor;
  /**
   * 'learned_range': the model outputs [prediction, v] along the last axis and is trained with
   * Nichol & Dhariwal's hybrid loss L_simple + λ·L_vlb (the variance learns from L_vlb only; the
   * mean's gradient is stopped there). Default: a fixed variance, L_simple only.
   */
  varianceType?: VarianceType;
  /** λ of the hybrid loss (default 0.001). */
  vlbWeight?: number;
  /** Grid size of the data for the t = 0 decoder term (default 256: 8-bit data scaled to [−1, 1]). */
  levels?: number;
}

/** The parts of the training objective (scalars the caller owns): `loss` = `mse` + λ·T·`vb` with learned variance. */
export interface DiffusionLossParts {
  loss: Tensor;
  /** The (optionally min-SNR weighted) mean squared error of the prediction. */
  mse: Tensor;
  /** Mean L_t in bits per dimension over the batch's timesteps (0 without learned variance). */
  vb: Tensor;
}

/**
 * The simple DDPM objective: draw t ~ U{0, …, T−1} and ε ~ N(0, I), noise x₀ in closed form and
 * regress the model output onto ε, x₀ or v (mean squared error, optionally min-SNR weighted).
 * Returns a scalar the caller owns; use inside valueAndGrads / optimizer.minimize.
 */
export function diffusionLoss(model: Denoiser, x0: Tensor, options: DiffusionLossOptions): Tensor {
  const parts = diffusionLossParts(model, x0, options);
  parts.mse.dispose();
  parts.vb.dispose();
  return parts.loss;
}

/**
 * diffusionLoss with its parts. With varianceType 'learned_range' the hybrid loss of improved DDPM:
 * loss = L_simple + λ·T·L_t, where L_t (bits/dim, `vbTermsBpd`) is the one-timestep estimate of
 * L_vlb/T, computed with the prediction channels behind a stop-gradient so that only Σ learns from it
 * (as improved-diffusion's RESCALED_MSE hybrid, whose T/1000 factor is λ·T with λ = 0.001).
 */
export function diffusionLossParts(model: Denoiser, x0: Tensor, options: DiffusionLossOptions): DiffusionLossParts {
  const { schedule } = options;
  const type = options.predictionType ?? 'epsilon';
  const varianceType = checkVarianceType(options.varianceType ?? 'fixed_small', 'diffusionLoss');
  const learned = varianceType === 'learned_range';
  const lambda = options.vlbWeight ?? 0.001;
  if (!(lambda >= 0)) throw new InvalidArgumentError(`diffusionLoss: vlbWeight must be ≥ 0, got ${lambda}`);
  const rng = rngFor(options.rng);
  const B = x0.shape[0]!;
  const T = schedule.numTrainTimesteps;
  const tArr = options.timesteps ? Int32Array.from(options.timesteps) : Int32Array.from({ length: B }, () => rng.int(T));
  let labels = options.cond?.classLabels;
  let dropped: Tensor | undefined;
  if (labels && options.condDropout) {
    const p = options.condDropout;
    if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError(`diffusionLoss: condDropout must be in [0, 1], got ${p}`);
    const nullClass = options.nullClass ?? model.numClasses;
    if (nullClass === undefined) throw new InvalidArgumentError('diffusionLoss: condDropout needs nullClass (or a model with numClasses)');
    const keep = Float32Array.from({ length: B }, () => (rng.uniform() < p ? 0 : 1));
    dropped = tf.tidy(() => {
      const k = tf.tensor1d(keep, 'int32');
      return tf.add(tf.mul(tf.cast(labels!, 'int32'), k), tf.mul(tf.sub(1, k), nullClass));
    });
    labels = dropped;
  }
  try {
    return tf.tidy(() => {
      const t = tf.tensor1d(tArr, 'int32');
      const noise = options.noise ?? rng.normalTensor(x0.shape);
      const xt = addNoise(schedule, x0, noise, t);
      const target = predictionTarget(type, schedule, x0, noise, t);
      const raw = model.forward(xt, tf.cast(t, 'float32'), { ...options.cond, classLabels: labels });
      let out = raw;
      let vb: Tensor = tf.scalar(0);
      if (learned) {
        const [pred, v] = splitVarianceChannels(raw, x0);
        out = pred;
        const frozen = tf.concat([stopGradient(pred), v], raw.rank - 1);
        vb = tf.mean(vbTermsBpd(schedule, x0, xt, t, frozen, { predictionType: type, varianceType, levels: options.levels }));
      } else if (raw.shape.join() !== x0.shape.join()) {
        throw new InvalidArgumentError(`diffusionLoss: model output [${raw.shape}] must match x0 [${x0.shape}]${hasVarianceChannels(raw, x0) ? " (a learned-variance output needs varianceType 'learned_range')" : ''}`);
      }
      const perSample = tf.mean(tf.reshape(tf.square(tf.sub(out, target)), [B, -1]), 1);
      const mse = options.minSnrGamma === undefined ? tf.mean(perSample) : tf.mean(tf.mul(perSample, gatherCoef(minSnrWeights(schedule, options.minSnrGamma, type), t, 1)));
      const loss = learned ? tf.add(mse, tf.mul(vb, lambda * T)) : tf.clone(mse);
      return { loss, mse, vb };
    }) as unknown as DiffusionLossParts;
  } finally {
    dropped?.dispose();
  }
}
