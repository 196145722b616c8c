import { tf, type Tensor } from '@nutshell/core';
import { type StepOptions, type StepOutput } from './scheduler.js';
import { SigmaScheduler } from './euler.js';

/**
 * Heun's second-order method (Karras et al. 2022, Algorithm 1 without churn), as diffusers'
 * HeunDiscreteScheduler: each step is an Euler predictor and a trapezoidal corrector, so the
 * timesteps repeat and n steps take 2n − 1 model calls (the last step, to σ = 0, is plain Euler).
 */
export class HeunScheduler extends SigmaScheduler {
  readonly name = 'heun';
  readonly stateless = false;
  private prevDerivative: Tensor | null = null;
  private prevSample: Tensor | null = null;
  private dt: number | null = null;

  constructor(config: ConstructorParameters<typeof SigmaScheduler>[0] = {}) {
    super(config);
    this.order = 2;
  }

  protected override layout(n: number): void {
    const { timesteps, sigmas } = this.baseLayout(n);
    // σ: [s0, s1, s1, s2, s2, …, s_{n−1}, s_{n−1}, 0]; t: [t0, t1, t1, …, t_{n−1}, t_{n−1}]
    this.sigmas = [sigmas[0]!, ...sigmas.slice(1, -1).flatMap((s) => [s, s]), 0];
    this.timesteps = [timesteps[0]!, ...timesteps.slice(1).flatMap((t) => [t, t])];
    this.inputSigmas = this.sigmas.slice(0, -1);
    this.outputSigmas = this.sigmas.slice(1);
  }

  protected override resetState(): void {
    this.prevDerivative?.dispose();
    this.prevSample?.dispose();
    this.prevDerivative = null;
    this.prevSample = null;
    this.dt = null;
  }

  /** True when the next call is an Euler predictor (false: a corrector). */
  get stateInFirstOrder(): boolean {
    return this.dt === null;
  }

  protected stepImpl(modelOutput: Tensor, _t: number, sample: Tensor, _options: StepOptions): StepOutput {
    const i = this.stepIndex;
    if (this.dt === null) {
      const s = this.sigmas[i]!;
      const next = this.sigmas[i + 1]!;
      const x0 = this.x0(modelOutput, sample, s);
      const d = tf.tidy(() => tf.div(tf.sub(sample, x0), s));
      const prev = tf.tidy(() => tf.add(sample, tf.mul(d, next - s)));
      if (next === 0) {
        d.dispose(); // the final step needs no corrector
      } else {
        this.prevDerivative = tf.keep(d); // state outlives a caller's tidy
        this.prevSample = tf.keep(tf.clone(sample));
        this.dt = next - s;
      }
      return { prevSample: prev, predOriginalSample: x0 };
    }
    const next = this.sigmas[i]!;
    const x0 = this.x0(modelOutput, sample, next);
    const prev = tf.tidy(() => {
      const d = tf.div(tf.add(this.prevDerivative!, tf.div(tf.sub(sample, x0), next)), 2);
      return tf.add(this.prevSample!, tf.mul(d, this.dt!));
    });
    this.resetState();
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
