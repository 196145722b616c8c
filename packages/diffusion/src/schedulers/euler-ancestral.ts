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

  protected stepImpl(modelOutput: Tensor, _t: number, sample: Tensor, options: StepOptions): StepOutput {
    const from = this.sigmas[this.stepIndex]!;
    const to = this.sigmas[this.stepIndex + 1]!;
    const up = Math.sqrt((to * to * (from * from - to * to)) / (from * from));
    const down = Math.sqrt(to * to - up * up);
    const noise = up > 0 ? this.noiseLike(sample, options) : null;
    const moved = this.eulerMove(modelOutput, sample, from, down);
    if (!noise) return moved;
    const prevSample = tf.tidy(() => tf.add(moved.prevSample, tf.mul(noise, up)));
    moved.prevSample.dispose();
    noise.dispose();
    return { prevSample, predOriginalSample: moved.predOriginalSample };
  }
}
