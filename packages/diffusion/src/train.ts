import { assertPositiveInt, InvalidArgumentError, rngFor, ShapeError, tf, type Rng, type Tensor } from '@nutshell/core';
import { AdamW, type Module } from '@nutshell/nn';
import { diffusionLoss } from './losses.js';
import type { PredictionType } from './forward.js';
import type { Denoiser } from './models/denoiser.js';
import type { NoiseSchedule } from './schedule.js';
import { EMA } from './ema.js';
import type { VarianceType } from './variational.js';

export interface TrainDenoiserOptions {
  model: Denoiser & Module;
  /** All training data [N, …] (kept on the backend; batches are gathered from it). */
  data: Tensor;
  /** Integer labels [N] for class conditioning. */
  labels?: Tensor;
  /** Per-example conditioning image [N, …] concatenated to x_t (SR3), gathered like the data. */
  concat?: Tensor;
  schedule: NoiseSchedule;
  steps: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  predictionType?: PredictionType;
  minSnrGamma?: number;
  /** 'learned_range': train a [prediction, variance]-output model with the hybrid loss (see diffusionLossParts). */
  varianceType?: VarianceType;
  /** λ of the hybrid loss (default 0.001). */
  vlbWeight?: number;
  /** Classifier-free guidance training: label dropout probability (default 0.1 when labels are given). */
  condDropout?: number;
  /** Keep an EMA of the weights with this decay (returned; the caller disposes it). */
  emaDecay?: number;
  maxGradNorm?: number;
  rng?: Rng | number | string;
  onStep?: (info: { step: number; loss: number }) => void;
}

/** A compact training loop for denoisers (AdamW, random minibatches, optional EMA); returns the loss curve. */
export function trainDenoiser(options: TrainDenoiserOptions): { losses: number[]; ema: EMA | undefined } {
  const { model, data, schedule } = options;
  assertPositiveInt('trainDenoiser steps', options.steps);
  const batch = options.batchSize ?? 128;
  assertPositiveInt('trainDenoiser batchSize', batch);
  const N = data.shape[0]!;
  if (options.labels && options.labels.shape[0] !== N) throw new ShapeError(`trainDenoiser: ${options.labels.shape[0]} labels for ${N} examples`);
  if (options.concat && options.concat.shape[0] !== N) throw new ShapeError(`trainDenoiser: ${options.concat.shape[0]} conditioning images for ${N} examples`);
  if (options.condDropout !== undefined && !options.labels) throw new InvalidArgumentError('trainDenoiser: condDropout needs labels');
  const rng = rngFor(options.rng ?? 0);
  const opt = new AdamW(model, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 0, maxGradNorm: options.maxGradNorm ?? 1 });
  const ema = options.emaDecay !== undefined ? new EMA(model, { decay: options.emaDecay }) : undefined;
  const losses: number[] = [];
  model.train();
  try {
    for (let s = 0; s < options.steps; s++) {
      const idx = tf.tensor1d(Int32Array.from({ length: Math.min(batch, N) }, () => rng.int(N)), 'int32');
      const x0 = tf.gather(data, idx);
      const labels = options.labels ? tf.gather(options.labels, idx) : undefined;
      const concat = options.concat ? tf.gather(options.concat, idx) : undefined;
      try {
        const loss = opt.minimize(() =>
          diffusionLoss(model, x0, {
            schedule,
            predictionType: options.predictionType,
            minSnrGamma: options.minSnrGamma,
            varianceType: options.varianceType,
            vlbWeight: options.vlbWeight,
            cond: { classLabels: labels, concat },
            condDropout: labels ? (options.condDropout ?? 0.1) : undefined,
            rng,
          }),
        );
        if (!Number.isFinite(loss)) throw new InvalidArgumentError(`trainDenoiser: loss became ${loss} at step ${s}; lower the learning rate`);
        losses.push(loss);
        ema?.update();
        options.onStep?.({ step: s, loss });
      } finally {
        idx.dispose();
        x0.dispose();
        labels?.dispose();
        concat?.dispose();
      }
    }
  } finally {
    opt.dispose();
    model.eval();
  }
  return { losses, ema };
}
