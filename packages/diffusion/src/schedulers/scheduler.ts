import { InvalidArgumentError, rngFor, ShapeError, tf, type Rng, type Tensor } from '@nutshell/core';
import { checkPredictionType, type PredictionType } from '../forward.js';
import { toSchedule, type NoiseSchedule, type NoiseScheduleOptions } from '../schedule.js';
import { checkSteps, TIMESTEP_SPACINGS, type TimestepSpacing } from '../spacing.js';
import { checkThresholdOptions, dynamicThreshold } from '../thresholding.js';
import { hasVarianceChannels, splitVarianceChannels } from '../variational.js';

export interface SchedulerConfig {
  /** The training noise schedule (or its options); default DDPM's linear 1e-4 … 0.02 over 1000 steps. */
  schedule?: NoiseSchedule | NoiseScheduleOptions;
  predictionType?: PredictionType;
  timestepSpacing?: TimestepSpacing;
  /** Added to 'leading' timesteps (Stable Diffusion uses 1). */
  stepsOffset?: number;
  /** Clamp the predicted x₀ to ±clipSampleRange (DDPM/DDIM). */
  clipSample?: boolean;
  clipSampleRange?: number;
  /** Karras et al. σ spacing (DPM-Solver++, Euler, Heun). */
  useKarrasSigmas?: boolean;
  /**
   * Dynamic thresholding of x̂₀ (Imagen; DDPM, DDIM, DPM-Solver++), as diffusers' `thresholding`:
   * takes precedence over clipSample. See `dynamicThreshold`.
   */
  thresholding?: boolean;
  /** Quantile of |x̂₀| per sample (diffusers' dynamic_thresholding_ratio, default 0.995). */
  dynamicThresholdingRatio?: number;
  /** Upper clamp of the threshold s (diffusers' sample_max_value, default 1). */
  sampleMaxValue?: number;
}

export interface StepOptions {
  /** Seeded stream for the step's fresh noise (ancestral samplers). */
  generator?: Rng;
  /** Explicit noise for the step (same shape as the sample); overrides generator. */
  noise?: Tensor;
}

export interface StepOutput {
  /** x at the next (lower) noise level; the caller owns it. */
  prevSample: Tensor;
  /** The scheduler's estimate of x₀ at this step; the caller owns it. */
  predOriginalSample: Tensor;
}

/**
 * How a scheduler's samples relate to clean data: 'vp' → x = √ᾱ·x₀ + √(1 − ᾱ)·ε (DDPM, DDIM,
 * DPM-Solver), 've' → x = x₀ + σ·ε with σ = √((1 − ᾱ)/ᾱ) (Euler, Heun; scaleModelInput maps back).
 */
export type SampleSpace = 'vp' | 've';

/**
 * The diffusers scheduler interface: `setTimesteps(n)`, then for each t of `timesteps`:
 * `model(scaleModelInput(x, t), t)` → `step(output, t, x)`. Start from `initNoiseSigma · N(0, I)`.
 */
export abstract class Scheduler {
  abstract readonly name: string;
  abstract readonly sampleSpace: SampleSpace;
  /** Whether a step may be repeated at the same index (no history kept between steps); RePaint needs it. */
  abstract readonly stateless: boolean;
  readonly schedule: NoiseSchedule;
  readonly predictionType: PredictionType;
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
  readonly useKarrasSigmas: boolean;
  readonly thresholding: boolean;
  readonly dynamicThresholdingRatio: number;
  readonly sampleMaxValue: number;
  /** Model calls, in order (Heun repeats timesteps: 2n − 1 calls for n steps). */
  timesteps: number[] = [];
  numInferenceSteps = 0;
  /** Model calls per step (2 for Heun). */
  order = 1;
  /** Index of the next model call. */
  stepIndex = 0;
  /** VE noise level σ of the sample each model call expects, and of the sample its step returns. */
  inputSigmas: number[] = [];
  outputSigmas: number[] = [];

  constructor(readonly config: SchedulerConfig = {}) {
    this.schedule = toSchedule(config.schedule);
    this.predictionType = checkPredictionType(config.predictionType ?? 'epsilon');
    this.timestepSpacing = config.timestepSpacing ?? this.defaultSpacing();
    if (!TIMESTEP_SPACINGS.includes(this.timestepSpacing)) {
      throw new InvalidArgumentError(`unknown timestep spacing ${JSON.stringify(this.timestepSpacing)}; use ${TIMESTEP_SPACINGS.join(', ')}`);
    }
    this.stepsOffset = config.stepsOffset ?? 0;
    this.clipSample = config.clipSample ?? false;
    this.clipSampleRange = config.clipSampleRange ?? 1;
    this.useKarrasSigmas = config.useKarrasSigmas ?? false;
    this.thresholding = config.thresholding ?? false;
    this.dynamicThresholdingRatio = config.dynamicThresholdingRatio ?? 0.995;
    this.sampleMaxValue = config.sampleMaxValue ?? 1;
    if (this.thresholding) checkThresholdOptions(this.dynamicThresholdingRatio, this.sampleMaxValue, 'Scheduler');
  }

  protected defaultSpacing(): TimestepSpacing {
    return 'leading';
  }

  /** σ with which to scale the initial N(0, I) noise. */
  get initNoiseSigma(): number {
    return 1;
  }

  /** Lays out `n` inference steps; resets the step index and any history. */
  setTimesteps(n: number): void {
    checkSteps(n, this.schedule.numTrainTimesteps, `${this.name}.setTimesteps`);
    this.numInferenceSteps = n;
    this.stepIndex = 0;
    this.resetState();
    this.layout(n);
  }

  protected abstract layout(n: number): void;
  protected resetState(): void {}

  /** Frees the history multistep schedulers keep between steps (DPM-Solver++, Heun). */
  dispose(): void {
    this.resetState();
  }

  /** Starts sampling at model call `i` (img2img / SDEdit). */
  setBeginIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i > this.timesteps.length) throw new InvalidArgumentError(`${this.name}.setBeginIndex: index must be in [0, ${this.timesteps.length}], got ${i}`);
    this.stepIndex = i;
    this.resetState();
  }

  /** Scales the sample to the model's expected input (identity for VP schedulers). */
  scaleModelInput(sample: Tensor, _t?: number): Tensor {
    return tf.clone(sample);
  }

  /** One reverse step from the model output at timestep t; the caller owns the result. */
  step(modelOutput: Tensor, t: number, sample: Tensor, options: StepOptions = {}): StepOutput {
    if (!this.numInferenceSteps) throw new InvalidArgumentError(`${this.name}.step: call setTimesteps(n) first`);
    if (this.stepIndex >= this.timesteps.length) {
      throw new InvalidArgumentError(`${this.name}.step: all ${this.timesteps.length} steps are done; call setTimesteps again`);
    }
    if (options.noise && options.noise.shape.join() !== sample.shape.join()) {
      throw new ShapeError(`${this.name}.step: noise [${options.noise.shape.join(', ')}] must match the sample [${sample.shape.join(', ')}]`);
    }
    if (hasVarianceChannels(modelOutput, sample)) {
      // A learned-variance model ([.., 2C]): schedulers without a use for Σ drop the variance channels.
      const [pred, variance] = splitVarianceChannels(modelOutput, sample);
      try {
        const out = this.stepImpl(pred, t, sample, options, variance);
        this.stepIndex++;
        return out;
      } finally {
        pred.dispose();
        variance.dispose();
      }
    }
    if (modelOutput.shape.join() !== sample.shape.join()) {
      throw new ShapeError(`${this.name}.step: model output [${modelOutput.shape.join(', ')}] must match the sample [${sample.shape.join(', ')}] (or [.., 2C] with learned variance)`);
    }
    const out = this.stepImpl(modelOutput, t, sample, options);
    this.stepIndex++;
    return out;
  }

  /** `predictedVariance`: the variance channels of a learned-variance model, when it has them. */
  protected abstract stepImpl(modelOutput: Tensor, t: number, sample: Tensor, options: StepOptions, predictedVariance?: Tensor): StepOutput;

  protected noiseLike(sample: Tensor, options: StepOptions): Tensor {
    return options.noise ? tf.clone(options.noise) : rngFor(options.generator).normalTensor(sample.shape);
  }

  /** x̂₀ post-processing of the x₀-predicting schedulers: dynamic thresholding, else clipping (else x0 itself). */
  protected maybeClip(x0: Tensor): Tensor {
    if (this.thresholding) return dynamicThreshold(x0, this.dynamicThresholdingRatio, this.sampleMaxValue);
    if (!this.clipSample) return x0;
    const r = this.clipSampleRange;
    return tf.tidy(() => tf.clipByValue(x0, -r, r));
  }

  /** x₀ noised to VE level σ in this scheduler's sample space (σ = 0 → x₀ itself). */
  noiseToSigma(x0: Tensor, noise: Tensor, sigma: number): Tensor {
    return tf.tidy(() => {
      if (sigma === 0) return tf.clone(x0);
      const ve = tf.add(x0, tf.mul(noise, sigma));
      return this.sampleSpace === 've' ? ve : tf.mul(ve, 1 / Math.sqrt(1 + sigma * sigma));
    });
  }

  /** diffusers' add_noise: x₀ at the noise level model call `index` expects (default: the first). */
  addNoise(x0: Tensor, noise: Tensor, index = 0): Tensor {
    if (index < 0 || index >= this.inputSigmas.length) throw new InvalidArgumentError(`${this.name}.addNoise: index ${index} outside the ${this.inputSigmas.length} model calls`);
    return this.noiseToSigma(x0, noise, this.inputSigmas[index]!);
  }

  /**
   * Adds noise to a sample at level σ_from so it is at σ_to ≥ σ_from (a forward jump, as RePaint's
   * resampling): VE: x + √(σ_to² − σ_from²)·ε; VP: the equivalent q(x_to | x_from).
   */
  renoise(sample: Tensor, fromSigma: number, toSigma: number, noise: Tensor): Tensor {
    return tf.tidy(() => {
      if (this.sampleSpace === 've') return tf.add(sample, tf.mul(noise, Math.sqrt(Math.max(0, toSigma * toSigma - fromSigma * fromSigma))));
      const abFrom = 1 / (1 + fromSigma * fromSigma);
      const abTo = 1 / (1 + toSigma * toSigma);
      const ratio = abTo / abFrom;
      return tf.add(tf.mul(sample, Math.sqrt(ratio)), tf.mul(noise, Math.sqrt(Math.max(0, 1 - ratio))));
    });
  }

  /** A description for logs and saved configs. */
  describe(): Record<string, unknown> {
    return {
      name: this.name, predictionType: this.predictionType, timestepSpacing: this.timestepSpacing, stepsOffset: this.stepsOffset, useKarrasSigmas: this.useKarrasSigmas, numInferenceSteps: this.numInferenceSteps,
      ...(this.thresholding ? { thresholding: true, dynamicThresholdingRatio: this.dynamicThresholdingRatio, sampleMaxValue: this.sampleMaxValue } : {}),
    };
  }
}

/** ᾱ for an integer timestep index, or `fallback` below 0 (diffusers' final_alpha_cumprod). */
export function alphaCumprodOr(schedule: NoiseSchedule, t: number, fallback: number): number {
  return t >= 0 ? schedule.alphasCumprod[t]! : fallback;
}

export function sigmaOfAlphaCumprod(ab: number): number {
  return Math.sqrt((1 - ab) / ab);
}
