import { tf, type Tensor } from '@nutshell/core';
import { dpmTimesteps, interpAt, karrasSigmas, roundHalfEven, sigmaToT, type TimestepSpacing } from '../spacing.js';
import { Scheduler, type SchedulerConfig, type StepOptions, type StepOutput } from './scheduler.js';
import { finiteSigmas } from './sigmas.js';

export interface DPMSolverConfig extends SchedulerConfig {
  /** 1 (= DDIM) or 2 (default, DPM-Solver++(2M)). */
  solverOrder?: 1 | 2;
  /** Use first order for the last step(s) when there are fewer than 15 (stabilises few-step sampling; default true). */
  lowerOrderFinal?: boolean;
}

const alphaSigma = (s: number): [number, number] => {
  const a = 1 / Math.sqrt(s * s + 1);
  return [a, s * a];
};
const lambda = (s: number): number => {
  const [a, sg] = alphaSigma(s);
  return sg === 0 ? Infinity : Math.log(a) - Math.log(sg);
};

/**
 * DPM-Solver++(2M) (Lu et al. 2022), the multistep data-prediction solver in diffusers'
 * DPMSolverMultistepScheduler (algorithm_type dpmsolver++, midpoint, final σ = 0): with λ = log(α/σ)
 * and h = λ_t − λ_s, x_t = (σ_t/σ_s)·x_s − α_t(e^{−h} − 1)·(D₀ + ½·D₁), D₁ = (x̂₀ − x̂₀_prev)·h/h_prev.
 */
export class DPMSolverMultistepScheduler extends Scheduler {
  readonly name = 'dpmpp-2m';
  readonly sampleSpace = 'vp' as const;
  readonly stateless = false;
  readonly solverOrder: 1 | 2;
  readonly lowerOrderFinal: boolean;
  sigmas: number[] = [];
  private history: Tensor[] = [];
  private lowerOrderNums = 0;

  constructor(config: DPMSolverConfig = {}) {
    super(config);
    this.solverOrder = config.solverOrder ?? 2;
    this.lowerOrderFinal = config.lowerOrderFinal ?? true;
  }

  protected override defaultSpacing(): TimestepSpacing {
    return 'linspace';
  }

  protected layout(n: number): void {
    const table = finiteSigmas(this.schedule);
    let timesteps = dpmTimesteps(this.timestepSpacing, n, this.schedule.numTrainTimesteps, this.stepsOffset);
    let sigmas: number[];
    if (this.useKarrasSigmas) {
      const logSigmas = table.map(Math.log);
      sigmas = karrasSigmas(table[0]!, table[table.length - 1]!, n);
      timesteps = sigmas.map((s) => roundHalfEven(sigmaToT(s, logSigmas)));
    } else {
      sigmas = timesteps.map((t) => interpAt(t, table));
    }
    this.timesteps = timesteps;
    this.sigmas = [...sigmas, 0];
    this.inputSigmas = sigmas;
    this.outputSigmas = this.sigmas.slice(1);
  }

  protected override resetState(): void {
    for (const h of this.history) h.dispose();
    this.history = [];
    this.lowerOrderNums = 0;
  }

  protected stepImpl(modelOutput: Tensor, _t: number, sample: Tensor, _options: StepOptions): StepOutput {
    const i = this.stepIndex;
    const n = this.timesteps.length;
    const sS = this.sigmas[i]!;
    const sT = this.sigmas[i + 1]!;
    const [aS, sigS] = alphaSigma(sS);
    const [aT, sigT] = alphaSigma(sT);
    const x0 = tf.tidy(() => {
      if (this.predictionType === 'epsilon') return tf.div(tf.sub(sample, tf.mul(modelOutput, sigS)), aS);
      if (this.predictionType === 'sample') return tf.clone(modelOutput);
      return tf.sub(tf.mul(sample, aS), tf.mul(modelOutput, sigS));
    });
    const clipped = this.maybeClip(x0);
    if (clipped !== x0) x0.dispose();
    this.history.push(tf.keep(tf.clone(clipped))); // state outlives a caller's tidy
    if (this.history.length > 2) this.history.shift()!.dispose();
    const lowerFinal = i === n - 1; // final σ = 0 always ends first order, as diffusers
    const lowerSecond = i === n - 2 && this.lowerOrderFinal && n < 15;
    const h = lambda(sT) - lambda(sS);
    const em1 = Math.exp(-h) - 1;
    const firstOrder = this.solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal;
    const prev = tf.tidy(() => {
      const base = tf.mul(sample, sigT / sigS);
      if (firstOrder) return tf.sub(base, tf.mul(clipped, aT * em1));
      void lowerSecond; // order 2 is the highest order here, so the "second-to-last" rule changes nothing
      const h0 = lambda(sS) - lambda(this.sigmas[i - 1]!);
      const r0 = h0 / h;
      const d1 = tf.mul(tf.sub(this.history[1]!, this.history[0]!), 1 / r0);
      return tf.sub(tf.sub(base, tf.mul(clipped, aT * em1)), tf.mul(d1, 0.5 * aT * em1));
    });
    if (this.lowerOrderNums < this.solverOrder) this.lowerOrderNums++;
    return { prevSample: prev, predOriginalSample: clipped };
  }
}
