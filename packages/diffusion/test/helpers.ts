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
  timesteps: number[];
  sigmas?: number[];
  initNoiseSigma?: number;
  trajectory: number[][][];
}

export interface Fixtures {
  T: number;
  schedules: Record<string, { betaStart: number; betaEnd: number; betas: number[]; alphasCumprod: number[] }>;
  timesteps: Record<string, number[]>;
  trajectories: Trajectory[];
  sample: number[][];
  noises: number[][][];
}

export const fixtures: Fixtures = JSON.parse(readFileSync(new URL('./fixtures/diffusers.json', import.meta.url), 'utf8'));

/** The deterministic stand-in model of scripts/make-fixtures.py. */
export function fakeModel(x: Tensor, t: number): Tensor {
  return tf.tidy(() => tf.add(tf.add(tf.mul(x, 0.5), 0.1 * Math.cos(t / 100)), tf.mul(tf.sin(tf.mul(x, 3)), 0.05)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
