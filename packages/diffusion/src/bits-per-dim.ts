import { assertPositiveInt, InvalidArgumentError, rngFor, ShapeError, tf, type Rng, type Tensor } from '@nutshell/core';
import type { PredictionType } from './forward.js';
import type { Conditioning, Denoiser } from './models/denoiser.js';
import type { NoiseSchedule } from './schedule.js';
import { checkVarianceType, priorBpd, vbTermsBpd, type VarianceType } from './variational.js';

/** Maps 8-bit values 0…255 (or `levels` − 1) to the grid k/127.5 − 1 in [−1, 1] that the bound's decoder expects. */
export function scaleToUnitGrid(values: Tensor, levels = 256): Tensor {
  return tf.tidy(() => tf.sub(tf.mul(tf.round(tf.cast(values, 'float32')), 2 / (levels - 1)), 1));
}

/** Snaps data in [−1, 1] to the nearest of `levels` grid values (e.g. [−1, 1] MNIST floats → exact 8-bit grid). */
export function quantizeToGrid(x: Tensor, levels = 256): Tensor {
  return tf.tidy(() => scaleToUnitGrid(tf.mul(tf.add(tf.clipByValue(x, -1, 1), 1), (levels - 1) / 2), levels));
}

export interface VariationalBoundOptions {
  model: Denoiser;
  schedule: NoiseSchedule;
  /** Data [N, …]: 8-bit values scaled to [−1, 1] (see scaleToUnitGrid / quantizeToGrid). */
  data: Tensor;
  /** Class labels [N] for a class-conditional model. */
  labels?: Tensor;
  /** Other conditioning passed to every model call (e.g. SR3's concat image for all N). */
  cond?: Omit<Conditioning, 'classLabels'>;
  predictionType?: PredictionType;
  /** 'fixed_small' (default), 'fixed_large' or 'learned_range' (the model outputs [prediction, v]). */
  varianceType?: VarianceType;
  /** Clip x̂₀ to [−1, 1] (improved-diffusion's calc_bpd_loop default: true). */
  clipDenoised?: boolean;
  /** Grid size (default 256). */
  levels?: number;
  /** Examples per model call (default 64). */
  batchSize?: number;
  rng?: Rng | number | string;
  /** Noise for timestep t (tests; same shape as the batch); drawn when omitted. The caller keeps ownership. */
  noise?: (t: number, batchStart: number, shape: number[]) => Tensor;
  onProgress?: (info: { done: number; total: number }) => void;
}

export interface VariationalBoundResult {
  /** E over the data of the full bound: Σ_t L_t + L_T (prior), in bits per dimension. */
  bitsPerDim: number;
  /** The bound per example (bits/dim). */
  perExample: Float64Array;
  /** Mean prior term KL(q(x_{T−1} | x₀) ‖ N(0, I)). */
  priorBpd: number;
  /** Mean decoder term −log p(x₀ | x_0) (t = 0). */
  decoderBpd: number;
  /** Mean Σ_{t ≥ 1} KL terms. */
  klBpd: number;
  /** Mean L_t per timestep t = 0 … T−1 (terms[0] is the decoder term). */
  terms: Float64Array;
  modelCalls: number;
}

/**
 * The full variational bound on −log p(x₀) (Ho et al. 2020, eq. 5; Nichol & Dhariwal's calc_bpd_loop):
 * for every example and every t = T−1 … 0 one draw x_t ~ q(x_t | x₀) and the term L_t (`vbTermsBpd`:
 * KL to the posterior for t ≥ 1, the discretised decoder NLL at t = 0), plus the prior KL, all in bits
 * per dimension. T model calls per batch; the estimate is unbiased in the draws of x_t.
 */
export function variationalBound(options: VariationalBoundOptions): VariationalBoundResult {
  const { model, schedule, data } = options;
  const T = schedule.numTrainTimesteps;
  const type = options.predictionType ?? 'epsilon';
  const varianceType = checkVarianceType(options.varianceType ?? 'fixed_small', 'variationalBound');
  const levels = options.levels ?? 256;
  const batch = options.batchSize ?? 64;
  assertPositiveInt('variationalBound batchSize', batch);
  if (data.rank < 2) throw new ShapeError(`variationalBound: data must be [N, …], got [${data.shape.join(', ')}]`);
  const N = data.shape[0]!;
  if (options.labels && options.labels.shape[0] !== N) throw new ShapeError(`variationalBound: ${options.labels.shape[0]} labels for ${N} examples`);
  if (schedule.zeroTerminalSnr && type === 'epsilon') throw new InvalidArgumentError('variationalBound: ε-prediction cannot give x̂₀ at a zero-SNR terminal step; use v_prediction or a schedule without rescaling');
  checkOnGrid(data, levels);
  const rng = rngFor(options.rng ?? 0);
  const perExample = new Float64Array(N);
  const prior = new Float64Array(N);
  const terms = new Float64Array(T);
  let modelCalls = 0;
  for (let start = 0; start < N; start += batch) {
    const n = Math.min(batch, N - start);
    const x0 = tf.slice(data, start, n);
    const labels = options.labels ? tf.slice(options.labels, start, n) : undefined;
    try {
      const p = priorBpd(schedule, x0);
      prior.set(p.dataSync(), start);
      p.dispose();
      for (let t = T - 1; t >= 0; t--) {
        const given = options.noise?.(t, start, x0.shape);
        const lt = tf.tidy(() => {
          const noise = given ?? rng.normalTensor(x0.shape);
          const xt = tf.add(tf.mul(x0, schedule.sqrtAlphasCumprod[t]!), tf.mul(noise, schedule.sqrtOneMinusAlphasCumprod[t]!));
          const out = model.forward(xt, tf.fill([n], t, 'float32'), { ...options.cond, classLabels: labels });
          return vbTermsBpd(schedule, x0, xt, tf.fill([n], t, 'int32'), out, { predictionType: type, varianceType, clipDenoised: options.clipDenoised ?? true, levels });
        });
        const v = lt.dataSync();
        lt.dispose();
        modelCalls++;
        for (let i = 0; i < n; i++) {
          if (!Number.isFinite(v[i]!)) throw new InvalidArgumentError(`variationalBound: L_${t} of example ${start + i} is ${v[i]}`);
          perExample[start + i]! += v[i]!;
          terms[t]! += v[i]! / N;
        }
      }
      options.onProgress?.({ done: start + n, total: N });
    } finally {
      x0.dispose();
      labels?.dispose();
    }
  }
  for (let i = 0; i < N; i++) perExample[i]! += prior[i]!;
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const priorMean = mean(prior);
  const decoder = terms[0]!;
  const total = mean(perExample);
  return { bitsPerDim: total, perExample, priorBpd: priorMean, decoderBpd: decoder, klBpd: total - priorMean - decoder, terms, modelCalls };
}

function checkOnGrid(data: Tensor, levels: number): void {
  const [lo, hi, off] = tf.tidy(() => {
    const k = tf.mul(tf.add(data, 1), (levels - 1) / 2);
    return [tf.min(data), tf.max(data), tf.max(tf.abs(tf.sub(k, tf.round(k))))].map((z) => z.dataSync()[0]!);
  }) as [number, number, number];
  if (lo < -1 - 1e-6 || hi > 1 + 1e-6) throw new InvalidArgumentError(`variationalBound: data must lie in [−1, 1] (8-bit values scaled), got [${lo}, ${hi}]`);
  if (off > 1e-3) throw new InvalidArgumentError(`variationalBound: data must sit on the ${levels}-level grid k/${(levels - 1) / 2} − 1 (the decoder is discrete); quantizeToGrid(x) snaps it`);
}
