import { readFileSync } from 'node:fs';
import { tf, type Tensor } from '@nutshell/core';

export interface Trajectory {
  scheduler: string;
  schedule: string;
  predictionType: 'epsilon' | 'sample' | 'v_prediction';
  spacing: 'leading' | 'trailing' | 'linspace';
  steps: number;
  stepsOffset: number;
  eta?: number;
  karras?: boolean;
  thresholding?: { ratio: number; maxValue: number };
  varianceType?: 'fixed_small' | 'fixed_large' | 'learned_range';
  /** 'threshold': starts from thresholdSample with thresholdNoises (a [3, 2, 4, 4] batch). */
  fixtureSample?: 'threshold';
  timesteps: number[];
  sigmas?: number[];
  initNoiseSigma?: number;
  trajectory: unknown[][];
}

export interface Fixtures {
  T: number;
  schedules: Record<string, { betaStart: number; betaEnd: number; betas: number[]; alphasCumprod: number[] }>;
  timesteps: Record<string, number[]>;
  trajectories: Trajectory[];
  sample: number[][];
  noises: number[][][];
  thresholdSample: number[][][][];
  thresholdNoises: number[][][][][];
  threshold: { ratio: number; maxValue: number; x: number[][][][]; y: number[][][][]; s: number[] }[];
}

export const fixtures: Fixtures = JSON.parse(readFileSync(new URL('./fixtures/diffusers.json', import.meta.url), 'utf8'));

/** The deterministic stand-in model of scripts/make-fixtures.py. */
export function fakeModel(x: Tensor, t: number): Tensor {
  return tf.tidy(() => tf.add(tf.add(tf.mul(x, 0.5), 0.1 * Math.cos(t / 100)), tf.mul(tf.sin(tf.mul(x, 3)), 0.05)));
}

/** The stand-in variance channels v of scripts/make-fixtures.py's learned-variance model. */
export function fakeVar(x: Tensor, t: number): Tensor {
  return tf.tidy(() => tf.sub(tf.mul(tf.tanh(x), 0.8), 0.3 * Math.cos(t / 200)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface VlbFixtures {
  normalKl: { mean1: number[]; logvar1: number[]; mean2: number[]; logvar2: number[]; kl: number[] };
  decoder: { x: number[]; means: number[]; logScales: number[]; ll: number[]; llExactCdf: number[] };
  T: number;
  betas: number[];
  x0: number[][][][];
  noises: number[][][][][];
  bpd: { varianceType: 'learned_range' | 'fixed_small' | 'fixed_large'; clipDenoised: boolean; terms: number[][]; prior: number[]; total: number[] }[];
  hybrid: { timesteps: number[]; noise: number[][][][]; vb: number[]; mse: number[]; loss: number };
}

/** scripts/make-vlb-fixtures.py: improved-diffusion's bound terms restated in numpy. */
export const vlb: VlbFixtures = JSON.parse(readFileSync(new URL('./fixtures/vlb.json', import.meta.url), 'utf8'));

/** The stand-in models of make-vlb-fixtures.py (t per sample). */
export function vlbFakeEps(x: Tensor, t: Tensor): Tensor {
  return tf.tidy(() => {
    const tt = tf.reshape(t, [-1, ...Array(x.rank - 1).fill(1)]);
    return tf.add(tf.add(tf.mul(x, 0.5), tf.mul(tf.cos(tf.div(tt, 10)), 0.1)), tf.mul(tf.sin(tf.mul(x, 3)), 0.05));
  });
}

export function vlbFakeLearned(x: Tensor, t: Tensor): Tensor {
  return tf.tidy(() => {
    const tt = tf.reshape(t, [-1, ...Array(x.rank - 1).fill(1)]);
    return tf.concat([vlbFakeEps(x, t), tf.sub(tf.mul(tf.tanh(x), 0.8), tf.mul(tf.cos(tf.div(tt, 20)), 0.3))], -1);
  });
}
