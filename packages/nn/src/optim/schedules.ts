import { InvalidArgumentError } from '@nutshell/core';
import type { Optimizer } from './optimizer.js';

/**
 * A learning-rate schedule: step → multiplier of each group's initial lr. Schedules are plain
 * functions, so they compose (`sequential`, `chain`) and are trivially resumable (state = step).
 */
export type Schedule = (step: number) => number;

const need = (name: string, v: unknown, ok: boolean) => {
  if (!ok) throw new InvalidArgumentError(`${name}: got ${JSON.stringify(v)}`);
};

export const constant = (factor = 1): Schedule => () => factor;

/** torch StepLR: γ^⌊step / stepSize⌋. */
export function stepDecay(o: { stepSize: number; gamma?: number }): Schedule {
  need('stepDecay stepSize must be a positive integer', o.stepSize, Number.isInteger(o.stepSize) && o.stepSize > 0);
  const g = o.gamma ?? 0.1;
  return (s) => g ** Math.floor(s / o.stepSize);
}

/** torch MultiStepLR: γ^(number of milestones ≤ step). */
export function multiStep(o: { milestones: number[]; gamma?: number }): Schedule {
  const g = o.gamma ?? 0.1;
  return (s) => g ** o.milestones.filter((m) => m <= s).length;
}

/** torch ExponentialLR: γ^step. */
export const exponential = (o: { gamma: number }): Schedule => (s) => o.gamma ** s;

/** Linear ramp from startFactor to 1 over warmupSteps, then 1. */
export function linearWarmup(o: { warmupSteps: number; startFactor?: number }): Schedule {
  const a = o.startFactor ?? 0;
  return (s) => (s >= o.warmupSteps ? 1 : a + ((1 - a) * s) / o.warmupSteps);
}

/** Hugging Face's linear schedule with warmup: 0→1 over warmup, then linearly to endFactor at totalSteps. */
export function linearWarmupDecay(o: { warmupSteps?: number; totalSteps: number; endFactor?: number }): Schedule {
  const w = o.warmupSteps ?? 0;
  const end = o.endFactor ?? 0;
  need('linearWarmupDecay totalSteps must exceed warmupSteps', o.totalSteps, o.totalSteps > w);
  return (s) => {
    if (s < w) return s / Math.max(1, w);
    const left = Math.max(0, (o.totalSteps - s) / Math.max(1, o.totalSteps - w));
    return end + (1 - end) * left;
  };
}

/** Cosine annealing from 1 to minFactor over totalSteps (torch CosineAnnealingLR with η_min = minFactor·lr). */
export function cosineAnnealing(o: { totalSteps: number; minFactor?: number }): Schedule {
  const min = o.minFactor ?? 0;
  return (s) => min + ((1 - min) * (1 + Math.cos((Math.PI * Math.min(s, o.totalSteps)) / o.totalSteps))) / 2;
}

/** Hugging Face's cosine schedule with warmup (linear warmup, then half a cosine down to minFactor). */
export function cosineWithWarmup(o: { warmupSteps: number; totalSteps: number; cycles?: number; minFactor?: number }): Schedule {
  const cycles = o.cycles ?? 0.5;
  const min = o.minFactor ?? 0;
  need('cosineWithWarmup totalSteps must exceed warmupSteps', o.totalSteps, o.totalSteps > o.warmupSteps);
  return (s) => {
    if (s < o.warmupSteps) return s / Math.max(1, o.warmupSteps);
    const progress = (s - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps);
    const c = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
    return min + (1 - min) * c;
  };
}

/**
 * torch OneCycleLR as a factor of the optimizer's lr (= max_lr): from 1/divFactor up to 1 over
 * pctStart of the run, then down to 1/(divFactor·finalDivFactor), with cosine or linear annealing.
 */
export function oneCycle(o: { totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number; anneal?: 'cos' | 'linear'; threePhase?: boolean }): Schedule {
  const pct = o.pctStart ?? 0.3;
  const div = o.divFactor ?? 25;
  const finalDiv = o.finalDivFactor ?? 1e4;
  const initial = 1 / div;
  const min = initial / finalDiv;
  const T = o.totalSteps;
  const anneal = (o.anneal ?? 'cos') === 'cos'
    ? (start: number, end: number, p: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * p) + 1)
    : (start: number, end: number, p: number) => (end - start) * p + start;
  const phases = o.threePhase
    ? [
      { end: pct * T - 1, from: initial, to: 1 },
      { end: 2 * pct * T - 2, from: 1, to: initial },
      { end: T - 1, from: initial, to: min },
    ]
    : [
      { end: pct * T - 1, from: initial, to: 1 },
      { end: T - 1, from: 1, to: min },
    ];
  return (s) => {
    if (s > T) throw new InvalidArgumentError(`oneCycle: step ${s} is past totalSteps ${T}`);
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const ph = phases[i]!;
      if (s <= ph.end || i === phases.length - 1) return anneal(ph.from, ph.to, (s - start) / (ph.end - start));
      start = ph.end;
    }
    return min;
  };
}

/** torch SequentialLR: schedules[i] runs from milestones[i−1], seeing steps counted from there. */
export function sequential(schedules: Schedule[], milestones: number[]): Schedule {
  if (milestones.length !== schedules.length - 1) {
    throw new InvalidArgumentError(`sequential: expected ${schedules.length - 1} milestones for ${schedules.length} schedules, got ${milestones.length}`);
  }
  return (s) => {
    let i = 0;
    while (i < milestones.length && s >= milestones[i]!) i++;
    return schedules[i]!(i === 0 ? s : s - milestones[i - 1]!);
  };
}

/** Product of schedules (torch ChainedScheduler for multiplicative schedules). */
export const chain = (...schedules: Schedule[]): Schedule => (s) => schedules.reduce((f, sc) => f * sc(s), 1);

/**
 * Drives an optimizer's lrs from a schedule: group.lr = group.initialLr · schedule(step). The lr
 * for step 0 is set on construction; call `step()` after each optimizer step (as in PyTorch).
 */
export class LRScheduler {
  lastStep = 0;
  constructor(readonly optimizer: Optimizer<any>, readonly schedule: Schedule) {
    this.apply();
  }
  step(): void {
    this.lastStep++;
    this.apply();
  }
  /** Current lr of each group. */
  getLr(): number[] {
    return this.optimizer.groups.map((g) => g.lr);
  }
  private apply(): void {
    const f = this.schedule(this.lastStep);
    for (const g of this.optimizer.groups) g.lr = g.initialLr * f;
  }
  stateDict(): { lastStep: number } {
    return { lastStep: this.lastStep };
  }
  loadStateDict(s: { lastStep: number }): void {
    this.lastStep = s.lastStep;
    this.apply();
  }
}
