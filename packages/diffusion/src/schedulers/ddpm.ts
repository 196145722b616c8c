import { ShapeError, tf, type Tensor } from '@nutshell/core';
import { checkVarianceType, type VarianceType } from '../variational.js';
import { splitPrediction } from '../forward.js';
import { spacedTimesteps } from '../spacing.js';
import { alphaCumprodOr, Scheduler, sigmaOfAlphaCumprod, type SchedulerConfig, type StepOptions, type StepOutput } from './scheduler.js';

export interface DDPMSchedulerConfig extends SchedulerConfig {
  /**
   * Reverse variance: 'fixed_small' β̃_t (default), 'fixed_large' β_t, or 'learned_range' (the model
   * outputs [prediction, v] along the last axis and Σ = exp(f·log β_t + (1 − f)·log β̃_t), f = (v + 1)/2;
   * Nichol & Dhariwal 2021, diffusers' learned_range), with the step's own β_t = 1 − ᾱ_t/ᾱ_{t'}.
   */
  varianceType?: VarianceType;
}

/**
 * DDPM ancestral sampling (Ho et al. 2020), as diffusers' DDPMScheduler: x_{t'} ~ q(x_{t'} | x_t, x̂₀),
 * mean = √ᾱ_{t'}·β'_t/(1−ᾱ_t)·x̂₀ + √α'_t·(1−ᾱ_{t'})/(1−ᾱ_t)·x_t with the step's own α'_t = ᾱ_t/ᾱ_{t'}.
 */
export class DDPMScheduler extends Scheduler {
  readonly name = 'ddpm';
  readonly sampleSpace = 'vp' as const;
  readonly stateless = true;
  readonly varianceType: VarianceType;

  constructor(config: DDPMSchedulerConfig = {}) {
    super(config);
    this.varianceType = checkVarianceType(config.varianceType ?? 'fixed_small', 'DDPMScheduler');
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

  protected stepImpl(modelOutput: Tensor, t: number, sample: Tensor, options: StepOptions, predictedVariance?: Tensor): StepOutput {
    if (this.varianceType === 'learned_range' && !predictedVariance) {
      throw new ShapeError(`DDPMScheduler: varianceType learned_range needs a model output with ${2 * sample.shape[sample.rank - 1]!} channels (prediction and variance), got ${modelOutput.shape[modelOutput.rank - 1]}`);
    }
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
        const small = Math.max((bP / bT) * curB, 1e-20);
        let std: Tensor | number;
        if (this.varianceType === 'learned_range') {
          const frac = tf.div(tf.add(predictedVariance!, 1), 2);
          std = tf.exp(tf.mul(0.5, tf.add(tf.mul(frac, Math.log(curB)), tf.mul(tf.sub(1, frac), Math.log(small)))));
        } else {
          std = Math.sqrt(this.varianceType === 'fixed_small' ? small : curB);
        }
        mean = tf.add(mean, tf.mul(noise, std));
        noise.dispose();
      }
      return { prevSample: mean, predOriginalSample: x0 };
    }) as StepOutput;
  }
}
