import { tf, type Tensor } from '@nutshell/core';
import type { TimestepSpacing } from '../spacing.js';
import { Scheduler, type StepOptions, type StepOutput } from './scheduler.js';
import { eulerInitNoiseSigma, eulerSigmas, veX0Coefficients } from './sigmas.js';

/** Shared by Euler, Euler-ancestral and Heun: σ levels, input scaling, x̂₀ in VE space. */
export abstract class SigmaScheduler extends Scheduler {
  readonly sampleSpace = 've' as const;
  sigmas: number[] = [];

  protected override defaultSpacing(): TimestepSpacing {
    return 'linspace';
  }

  override get initNoiseSigma(): number {
    return this.sigmas.length ? eulerInitNoiseSigma(this.sigmas, this.timestepSpacing) : 1;
  }

  protected baseLayout(n: number): { timesteps: number[]; sigmas: number[] } {
    return eulerSigmas(this.schedule, this.timestepSpacing, n, this.stepsOffset, this.useKarrasSigmas);
  }

  /** One model call per σ level (Euler, Euler-ancestral); Heun overrides it with repeated levels. */
  protected layout(n: number): void {
    const { timesteps, sigmas } = this.baseLayout(n);
    this.timesteps = timesteps;
    this.sigmas = sigmas;
    this.inputSigmas = sigmas.slice(0, -1);
    this.outputSigmas = sigmas.slice(1);
  }

  /** The Euler move of the probability-flow ODE from σ `from` to σ `to`: x + (x − x̂₀)/from·(to − from), with x̂₀. */
  protected eulerMove(modelOutput: Tensor, sample: Tensor, from: number, to: number): StepOutput {
    return tf.tidy(() => {
      const x0 = this.x0(modelOutput, sample, from);
      const d = tf.div(tf.sub(sample, x0), from);
      return { prevSample: tf.add(sample, tf.mul(d, to - from)), predOriginalSample: x0 };
    }) as StepOutput;
  }

  /** x / √(σ² + 1): the VP sample the model was trained on. */
  override scaleModelInput(sample: Tensor, _t?: number): Tensor {
    const s = this.sigmas[Math.min(this.stepIndex, this.sigmas.length - 1)] ?? 0;
    return tf.mul(sample, 1 / Math.sqrt(s * s + 1));
  }

  protected x0(modelOutput: Tensor, sample: Tensor, sigma: number): Tensor {
    const { sampleCoef, outputCoef } = veX0Coefficients(this.predictionType, sigma);
    return tf.tidy(() => (sampleCoef === 0 ? tf.mul(modelOutput, outputCoef) : tf.add(tf.mul(sample, sampleCoef), tf.mul(modelOutput, outputCoef))));
  }
}

/** Euler's method on the probability-flow ODE dx/dσ = (x − x̂₀)/σ (Karras et al. 2022), as diffusers' EulerDiscreteScheduler. */
export class EulerScheduler extends SigmaScheduler {
  readonly name = 'euler';
  readonly stateless = true;

  protected stepImpl(modelOutput: Tensor, _t: number, sample: Tensor, _options: StepOptions): StepOutput {
    return this.eulerMove(modelOutput, sample, this.sigmas[this.stepIndex]!, this.sigmas[this.stepIndex + 1]!);
  }
}
