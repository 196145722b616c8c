import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { splitPrediction } from '../forward.js';
import { spacedTimesteps } from '../spacing.js';
import { alphaCumprodOr, Scheduler, sigmaOfAlphaCumprod, type SchedulerConfig, type StepOptions, type StepOutput } from './scheduler.js';

export interface DDIMSchedulerConfig extends SchedulerConfig {
  /** Stochasticity η: 0 = deterministic DDIM (default), 1 ≈ DDPM. */
  eta?: number;
  /** ᾱ before t = 0 is 1 (default) or ᾱ_0. */
  setAlphaToOne?: boolean;
  /**
   * With clipSample / thresholding: recompute ε̂ from the clipped x̂₀ (diffusers' step argument
   * `use_clipped_model_output`), so the step stays on a consistent (x̂₀, ε̂) pair. Default false, as diffusers.
   */
  useClippedModelOutput?: boolean;
}

/**
 * DDIM (Song et al. 2021), as diffusers' DDIMScheduler:
 * x_{t'} = √ᾱ_{t'}·x̂₀ + √(1 − ᾱ_{t'} − σ²)·ε̂ + σ·z with σ = η·√((1−ᾱ_{t'})/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_{t'})).
 */
export class DDIMScheduler extends Scheduler {
  readonly name = 'ddim';
  readonly sampleSpace = 'vp' as const;
  readonly stateless = true;
  readonly eta: number;
  readonly finalAlphaCumprod: number;
  readonly useClippedModelOutput: boolean;

  constructor(config: DDIMSchedulerConfig = {}) {
    super(config);
    this.eta = config.eta ?? 0;
    if (!(this.eta >= 0)) throw new InvalidArgumentError(`DDIMScheduler: eta must be ≥ 0, got ${this.eta}`);
    this.finalAlphaCumprod = config.setAlphaToOne === false ? this.schedule.alphasCumprod[0]! : 1;
    this.useClippedModelOutput = config.useClippedModelOutput ?? false;
  }

  protected layout(n: number): void {
    this.timesteps = spacedTimesteps(this.timestepSpacing, n, this.schedule.numTrainTimesteps, { stepsOffset: this.stepsOffset });
    this.inputSigmas = this.timesteps.map((t) => sigmaOfAlphaCumprod(this.schedule.alphasCumprod[t]!));
    this.outputSigmas = this.timesteps.map((t) => sigmaOfAlphaCumprod(alphaCumprodOr(this.schedule, this.previousTimestep(t), this.finalAlphaCumprod)));
  }

  previousTimestep(t: number): number {
    return t - Math.floor(this.schedule.numTrainTimesteps / this.numInferenceSteps);
  }

  protected stepImpl(modelOutput: Tensor, t: number, sample: Tensor, options: StepOptions): StepOutput {
    const aT = this.schedule.alphasCumprod[t]!;
    const aP = alphaCumprodOr(this.schedule, this.previousTimestep(t), this.finalAlphaCumprod);
    const bT = 1 - aT;
    const bP = 1 - aP;
    const std = this.eta * Math.sqrt((bP / bT) * (1 - aT / aP));
    const noise = this.eta > 0 ? this.noiseLike(sample, options) : null;
    return tf.tidy(() => {
      const split = splitPrediction(this.predictionType, modelOutput, sample, Math.sqrt(aT), Math.sqrt(bT));
      // As diffusers: clipping changes x̂₀; ε̂ follows it only with use_clipped_model_output.
      const x0 = this.maybeClip(split.x0);
      const clipped = this.clipSample || this.thresholding;
      const eps = clipped && this.useClippedModelOutput ? tf.div(tf.sub(sample, tf.mul(x0, Math.sqrt(aT))), Math.sqrt(bT)) : split.eps;
      let prev = tf.add(tf.mul(x0, Math.sqrt(aP)), tf.mul(eps, Math.sqrt(Math.max(0, 1 - aP - std * std))));
      if (noise) {
        prev = tf.add(prev, tf.mul(noise, std));
        noise.dispose();
      }
      return { prevSample: prev, predOriginalSample: x0 };
    }) as StepOutput;
  }
}
