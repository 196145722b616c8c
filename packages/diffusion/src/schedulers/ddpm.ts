import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { splitPrediction } from '../forward.js';
import { spacedTimesteps } from '../spacing.js';
import { alphaCumprodOr, Scheduler, sigmaOfAlphaCumprod, type SchedulerConfig, type StepOptions, type StepOutput } from './scheduler.js';

export interface DDPMSchedulerConfig extends SchedulerConfig {
  /** Posterior variance: 'fixed_small' β̃_t (default) or 'fixed_large' β_t. */
  varianceType?: 'fixed_small' | 'fixed_large';
}

/**
 * DDPM ancestral sampling (Ho et al. 2020), as diffusers' DDPMScheduler: x_{t'} ~ q(x_{t'} | x_t, x̂₀),
 * mean = √ᾱ_{t'}·β'_t/(1−ᾱ_t)·x̂₀ + √α'_t·(1−ᾱ_{t'})/(1−ᾱ_t)·x_t with the step's own α'_t = ᾱ_t/ᾱ_{t'}.
 */
export class DDPMScheduler extends Scheduler {
  readonly name = 'ddpm';
  readonly sampleSpace = 'vp' as const;
  readonly stateless = true;
  readonly varianceType: 'fixed_small' | 'fixed_large';

  constructor(config: DDPMSchedulerConfig = {}) {
    super(config);
    this.varianceType = config.varianceType ?? 'fixed_small';
    if (!['fixed_small', 'fixed_large'].includes(this.varianceType)) throw new InvalidArgumentError(`DDPMScheduler: unknown varianceType ${JSON.stringify(this.varianceType)}`);
  }

  protected layout(n: number): void {
    const T = this.schedule.numTrainTimesteps;
    this.timesteps = spacedTimesteps(this.timestepSpacing, n, T, { stepsOffset: this.stepsOffset });
    this.inputSigmas = this.timesteps.map((t) => sigmaOfAlphaCumprod(this.schedule.alphasCumprod[t]!));
    this.outputSigmas = this.timesteps.map((t) => sigmaOfAlphaCumprod(alphaCumprodOr(this.schedule, this.previousTimestep(t), 1)));
  }

  previousTimestep(t: number): number {
    return t - Math.floor(this.schedule.numTrainTimesteps / this.numInferenceSteps);
  }

  protected stepImpl(modelOutput: Tensor, t: number, sample: Tensor, options: StepOptions): StepOutput {
    const prev = this.previousTimestep(t);
    const aT = this.schedule.alphasCumprod[t]!;
    const aP = alphaCumprodOr(this.schedule, prev, 1);
    const bT = 1 - aT;
    const bP = 1 - aP;
    const curA = aT / aP;
    const curB = 1 - curA;
    const noise = t > 0 ? this.noiseLike(sample, options) : null;
    return tf.tidy(() => {
      const { x0: raw } = splitPrediction(this.predictionType, modelOutput, sample, Math.sqrt(aT), Math.sqrt(bT));
      const x0 = this.maybeClip(raw);
      let mean = tf.add(tf.mul(x0, (Math.sqrt(aP) * curB) / bT), tf.mul(sample, (Math.sqrt(curA) * bP) / bT));
      if (noise) {
        const variance = this.varianceType === 'fixed_small' ? Math.max((bP / bT) * curB, 1e-20) : curB;
        mean = tf.add(mean, tf.mul(noise, Math.sqrt(variance)));
        noise.dispose();
      }
      return { prevSample: mean, predOriginalSample: x0 };
    }) as StepOutput;
  }
}
