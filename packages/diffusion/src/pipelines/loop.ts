import { InvalidArgumentError, rngFor, tf, type Rng, type Tensor } from '@nutshell/core';
import type { Conditioning, Denoiser } from '../models/denoiser.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { classifierFreeGuidance } from '../guidance.js';

/** Progress of a sampling loop, reported once per model call. */
export interface StepInfo {
  /** Model call index, 0-based. */
  index: number;
  total: number;
  timestep: number;
}

export interface LoopOptions {
  cond?: Conditioning;
  /** Classifier-free guidance scale (needs cond.classLabels and a class-conditional model). */
  guidanceScale?: number;
  rng?: Rng | number | string;
  onStep?: (info: StepInfo) => void;
  /** Keep x̂₀ every k model calls (and the last) for a denoising-trajectory strip. */
  trajectoryEvery?: number;
  /** Called after each step with the new sample; returns a replacement (inpainting re-imposes known pixels). */
  afterStep?: (x: Tensor, index: number) => Tensor;
  /** Extra passes per step (RePaint resampling); `renoise(x, index)` must return x at the step's input level. */
  resample?: { jumps: number; renoise: (x: Tensor, index: number) => Tensor };
}

export interface LoopResult {
  samples: Tensor;
  /** x̂₀ snapshots (owned by the caller) when trajectoryEvery was set. */
  trajectory: Tensor[];
  modelCalls: number;
}

/** What every sampling pipeline takes besides its start (generate, img2img, inpaint, super-resolution). */
export interface PipelineOptions {
  model: Denoiser;
  scheduler: Scheduler;
  /** Inference steps (default 50). */
  steps?: number;
  rng?: Rng | number | string;
  /** Class labels for a class-conditional model (one per sample, or one for all). */
  classLabels?: number[] | Tensor;
  /** Classifier-free guidance scale (default 1 = no guidance). */
  guidanceScale?: number;
  cond?: Conditioning;
  onStep?: (info: StepInfo) => void;
  trajectoryEvery?: number;
}

/** Class labels as a [batch] int32 tensor (one label repeats over the batch). The caller owns it. */
export function labelsTensor(labels: number[] | Tensor, batch: number): Tensor {
  if (labels instanceof tf.Tensor) return tf.cast(labels, 'int32');
  if (labels.length !== batch && labels.length !== 1) throw new InvalidArgumentError(`classLabels: expected ${batch} labels (or 1), got ${labels.length}`);
  return tf.tensor1d(labels.length === 1 ? Array(batch).fill(labels[0]) : labels, 'int32');
}

/**
 * The pipelines' shared sampling run: class labels and conditioning, guidance, progress and
 * trajectory options go into one denoiseLoop from the scheduler's current step; takes ownership of x.
 */
export function runPipeline(options: PipelineOptions, x: Tensor, rng: Rng, extra: Pick<LoopOptions, 'afterStep' | 'resample'> = {}): LoopResult {
  let labels: Tensor | undefined;
  try {
    labels = options.classLabels ? labelsTensor(options.classLabels, x.shape[0]!) : undefined;
    return denoiseLoop(options.model, options.scheduler, x, {
      cond: { ...options.cond, classLabels: labels ?? options.cond?.classLabels },
      guidanceScale: options.guidanceScale,
      rng,
      onStep: options.onStep,
      trajectoryEvery: options.trajectoryEvery,
      ...extra,
    });
  } finally {
    x.dispose();
    labels?.dispose();
  }
}

/** Runs the scheduler from its current step index to the end, starting at sample x (not disposed). */
export function denoiseLoop(model: Denoiser, scheduler: Scheduler, x: Tensor, options: LoopOptions = {}): LoopResult {
  const rng = rngFor(options.rng);
  const net = options.guidanceScale !== undefined && options.guidanceScale !== 1 ? classifierFreeGuidance(model, options.guidanceScale) : model;
  const B = x.shape[0]!;
  const total = scheduler.timesteps.length;
  const trajectory: Tensor[] = [];
  const jumps = options.resample?.jumps ?? 1;
  if (!Number.isInteger(jumps) || jumps < 1) throw new InvalidArgumentError(`resample jumps must be a positive integer, got ${jumps}`);
  if (jumps > 1 && !scheduler.stateless) throw new InvalidArgumentError(`RePaint resampling needs a stateless scheduler (ddpm, ddim, euler, euler-ancestral), not ${scheduler.name}`);
  let cur = tf.clone(x);
  let calls = 0;
  for (let i = scheduler.stepIndex; i < total; i = scheduler.stepIndex) {
    const t = scheduler.timesteps[i]!;
    for (let u = 0; u < jumps; u++) {
      const last = u === jumps - 1 || i === total - 1;
      const { prevSample, predOriginalSample } = tf.tidy(() => {
        const input = scheduler.scaleModelInput(cur, t);
        const out = net.forward(input, tf.fill([B], t, 'float32'), options.cond);
        return scheduler.step(out, t, cur, { generator: rng }) as unknown as tf.TensorContainer;
      }) as unknown as { prevSample: Tensor; predOriginalSample: Tensor };
      calls++;
      cur.dispose();
      cur = prevSample;
      if (options.afterStep) {
        const next = options.afterStep(cur, i);
        if (next !== cur) cur.dispose();
        cur = next;
      }
      const every = options.trajectoryEvery;
      if (last && every && (i % every === 0 || i === total - 1)) trajectory.push(predOriginalSample);
      else predOriginalSample.dispose();
      if (last) break;
      const back = options.resample!.renoise(cur, i);
      cur.dispose();
      cur = back;
      scheduler.stepIndex = i;
    }
    options.onStep?.({ index: i, total, timestep: t });
  }
  scheduler.dispose(); // all steps done: release multistep history
  return { samples: cur, trajectory, modelCalls: calls };
}
