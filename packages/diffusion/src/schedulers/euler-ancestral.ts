import { tf, type Tensor } from '@nutshell/core';
import { type StepOptions, type StepOutput } from './scheduler.js';
import { SigmaScheduler } from './euler.js';

/**
 * Ancestral Euler (k-diffusion's sample_euler_ancestral, diffusers' EulerAncestralDiscreteScheduler):
 * step to σ_down deterministically, then add fresh noise of std σ_up, with σ_up² + σ_down² = σ_next².
 */
export class EulerAncestralScheduler extends SigmaScheduler {
  readonly name = 'euler-ancestral';
  readonly stateless = true;

  protected layout(n: number): void {
    const { timesteps, sigmas } = this.baseLayout(n);
    this.timesteps = timesteps;
    this.sigmas = sigmas;
    this.inputSigmas = sigmas.slice(0, -1);
    this.outputSigmas = sigmas.slice(1);
  }

  protected stepImpl(modelOutput: Tensor, _t: number, sample: Tensor, options: StepOptions): StepOutput {
    const from = this.sigmas[this.stepIndex]!;
    const to = this.sigmas[this.stepIndex + 1]!;
    const up = Math.sqrt((to * to * (from * from - to * to)) / (from * from));
    const down = Math.sqrt(to * to - up * up);
    const noise = up > 0 ? this.noiseLike(sample, options) : null;
    return tf.tidy(() => {
      const x0 = this.x0(modelOutput, sample, from);
      const d = tf.div(tf.sub(sample, x0), from);
      let prev = tf.add(sample, tf.mul(d, down - from));
      if (noise) {
        prev = tf.add(prev, tf.mul(noise, up));
        noise.dispose();
      }
      return { prevSample: prev, predOriginalSample: x0 };
    }) as StepOutput;
  }
}
