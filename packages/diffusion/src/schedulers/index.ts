import { InvalidArgumentError } from '@nutshell/core';
import { DDIMScheduler, type DDIMSchedulerConfig } from './ddim.js';
import { DDPMScheduler, type DDPMSchedulerConfig } from './ddpm.js';
import { DPMSolverMultistepScheduler, type DPMSolverConfig } from './dpm-solver.js';
import { EulerAncestralScheduler } from './euler-ancestral.js';
import { EulerScheduler } from './euler.js';
import { HeunScheduler } from './heun.js';
import type { Scheduler, SchedulerConfig } from './scheduler.js';

/** Options any scheduler accepts (each ignores the ones it has no use for). */
export type AnySchedulerConfig = SchedulerConfig & DDPMSchedulerConfig & DDIMSchedulerConfig & DPMSolverConfig;

/** Makes a scheduler from a config; what the `schedulers` registry holds. */
export type SchedulerFactory = (config?: AnySchedulerConfig) => Scheduler;

export const SCHEDULERS: Readonly<Record<string, SchedulerFactory>> = Object.freeze({
  ddpm: (c = {}) => new DDPMScheduler(c),
  ddim: (c = {}) => new DDIMScheduler(c),
  'dpmpp-2m': (c = {}) => new DPMSolverMultistepScheduler(c),
  euler: (c = {}) => new EulerScheduler(c),
  'euler-ancestral': (c = {}) => new EulerAncestralScheduler(c),
  heun: (c = {}) => new HeunScheduler(c),
});

/** A scheduler by name: ddpm, ddim, dpmpp-2m, euler, euler-ancestral, heun. */
export function createScheduler(name: string, config: AnySchedulerConfig = {}): Scheduler {
  const f = SCHEDULERS[name];
  if (!f) throw new InvalidArgumentError(`unknown scheduler ${JSON.stringify(name)}; available: ${Object.keys(SCHEDULERS).join(', ')}`);
  return f(config);
}
