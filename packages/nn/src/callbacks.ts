import type { Trainer } from './trainer.js';

export interface StepLog {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
}
export interface EvalLog {
  step: number;
  epoch: number;
  /** `loss` and any metrics, averaged over the eval set. */
  metrics: Record<string, number>;
}
export interface EpochLog {
  epoch: number;
  step: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  seconds: number;
}

/** Hooks into a Trainer's loop (Keras-style). Any hook may be async. */
export interface Callback {
  onTrainBegin?(trainer: Trainer<any>): void | Promise<void>;
  onStepEnd?(trainer: Trainer<any>, log: StepLog): void | Promise<void>;
  onEvalEnd?(trainer: Trainer<any>, log: EvalLog): void | Promise<void>;
  onEpochEnd?(trainer: Trainer<any>, log: EpochLog): void | Promise<void>;
  onTrainEnd?(trainer: Trainer<any>): void | Promise<void>;
  /** JSON state saved in checkpoints (e.g. early stopping's best value), restored on resume. */
  getState?(): unknown;
  setState?(state: unknown): void;
}

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Progress output: a one-line bar redrawn in place on a TTY, JSON lines otherwise (one object per
 * `every` steps, per eval and per epoch, with the lr), so logs stay machine-readable in CI.
 */
export class ProgressLogger implements Callback {
  private readonly stream: Writable | undefined;
  private readonly mode: 'bar' | 'json';
  private readonly every: number;
  private start = 0;
  constructor(options: { stream?: Writable; mode?: 'auto' | 'bar' | 'json'; every?: number } = {}) {
    const g = globalThis as { process?: { stderr?: Writable } };
    this.stream = options.stream ?? g.process?.stderr;
    const m = options.mode ?? 'auto';
    this.mode = m === 'auto' ? (this.stream?.isTTY ? 'bar' : 'json') : m;
    this.every = options.every ?? (this.mode === 'bar' ? 1 : 10);
  }
  onTrainBegin(): void {
    this.start = Date.now();
  }
  onStepEnd(t: Trainer<any>, log: StepLog): void {
    if (log.step % this.every !== 0) return;
    if (this.mode === 'json') {
      this.stream?.write(`${JSON.stringify({ event: 'step', ...log })}\n`);
      return;
    }
    const total = t.plannedSteps;
    const frac = total ? Math.min(1, log.step / total) : 0;
    const width = 24;
    const bar = total ? `[${'='.repeat(Math.round(frac * width)).padEnd(width, ' ')}] ` : '';
    const secs = (Date.now() - this.start) / 1000;
    this.stream?.write(`\r${bar}step ${log.step}${total ? `/${total}` : ''} epoch ${log.epoch} loss ${log.loss.toFixed(4)} lr ${log.lr.toExponential(2)} ${secs.toFixed(1)}s`);
  }
  onEvalEnd(_t: Trainer<any>, log: EvalLog): void {
    if (this.mode === 'json') this.stream?.write(`${JSON.stringify({ event: 'eval', ...log })}\n`);
    else this.stream?.write(`\n  eval @${log.step}: ${Object.entries(log.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n`);
  }
  onEpochEnd(_t: Trainer<any>, log: EpochLog): void {
    if (this.mode === 'json') this.stream?.write(`${JSON.stringify({ event: 'epoch', ...log })}\n`);
  }
  onTrainEnd(): void {
    if (this.mode === 'bar') this.stream?.write('\n');
  }
}

/**
 * Stops training when a monitored eval metric stops improving for `patience` evaluations, and
 * (by default) restores the weights of the best evaluation.
 */
export class EarlyStopping implements Callback {
  best: number | undefined;
  bestStep = -1;
  private bad = 0;
  private bestWeights: Record<string, import('@nutshell/core').Tensor> | undefined;
  constructor(readonly options: { monitor?: string; mode?: 'min' | 'max'; patience?: number; minDelta?: number; restoreBest?: boolean } = {}) {}
  stoppedEarly = false;

  onEvalEnd(t: Trainer<any>, log: EvalLog): void {
    const key = this.options.monitor ?? 'loss';
    const v = log.metrics[key];
    if (v === undefined) return;
    const sign = (this.options.mode ?? 'min') === 'min' ? 1 : -1;
    const delta = this.options.minDelta ?? 0;
    if (this.best === undefined || sign * (this.best - v) > delta) {
      this.best = v;
      this.bestStep = log.step;
      this.bad = 0;
      if (this.options.restoreBest ?? true) {
        this.disposeBest();
        this.bestWeights = t.model.stateDict({ clone: true });
      }
    } else if (++this.bad >= (this.options.patience ?? 3)) {
      this.stoppedEarly = true;
      t.stop();
    }
  }
  onTrainEnd(t: Trainer<any>): void {
    if (this.bestWeights) t.model.loadStateDict(this.bestWeights);
    this.disposeBest();
  }
  private disposeBest(): void {
    if (this.bestWeights) for (const w of Object.values(this.bestWeights)) w.dispose();
    this.bestWeights = undefined;
  }
  getState(): unknown {
    return { best: this.best, bestStep: this.bestStep, bad: this.bad };
  }
  setState(s: unknown): void {
    const st = s as { best?: number; bestStep?: number; bad?: number };
    this.best = st.best;
    this.bestStep = st.bestStep ?? -1;
    this.bad = st.bad ?? 0;
  }
}

/** Saves a checkpoint (atomically) every `every` optimizer steps and at the end of training. */
export class Checkpoint implements Callback {
  readonly saved: string[] = [];
  constructor(readonly path: string, readonly options: { every: number; atEnd?: boolean }) {}
  async onStepEnd(t: Trainer<any>, log: StepLog): Promise<void> {
    if (log.step % this.options.every === 0) {
      await t.saveCheckpoint(this.path);
      this.saved.push(`${this.path}@${log.step}`);
    }
  }
  async onTrainEnd(t: Trainer<any>): Promise<void> {
    if (this.options.atEnd) await t.saveCheckpoint(this.path);
  }
}
