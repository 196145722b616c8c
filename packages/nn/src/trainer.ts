import { FormatError, InvalidArgumentError, NutshellError, loadSafetensors, saveSafetensors, tf, type Tensor } from '@nutshell/core';
import { ProgressLogger, type Callback, type EvalLog, type StepLog } from './callbacks.js';
import type { DataLoader } from './data.js';
import { GradientAccumulator, disposeGrads, valueAndGrads } from './gradients.js';
import type { Module } from './module.js';
import type { Optimizer, OptimizerStateDict } from './optim/optimizer.js';
import { LRScheduler, type Schedule } from './optim/schedules.js';
import { writeFileAtomic } from './serialize.js';

/** A loss or gradient became NaN or ±Infinity; names the step and epoch. */
export class NonFiniteError extends NutshellError {
  constructor(readonly step: number, readonly epoch: number, readonly what: string, readonly value: number) {
    super('E_NON_FINITE', `training diverged: ${what} is ${value} at step ${step} (epoch ${epoch}); lower the learning rate, clip gradients (maxGradNorm) or check the inputs for NaN`);
  }
}

/** A training or eval batch holds NaN or ±Infinity (with `checkInputs: true`); names the batch and tensor. */
export class NonFiniteInputError extends NutshellError {
  constructor(readonly epoch: number, readonly batch: number, readonly tensor: string, readonly value: number, readonly index: number) {
    super('E_NON_FINITE_INPUT', `bad input: batch ${batch} of epoch ${epoch}, tensor ${tensor} holds ${value} at flat index ${index}; expected finite numbers (clean or impute the data)`);
  }
}

/** Finds the first non-finite float in a batch (tensor, array or record of tensors); path like `[0]` or `.x`. */
export function findNonFinite(batch: unknown, path = 'batch'): { tensor: string; value: number; index: number } | null {
  if (batch && typeof batch === 'object' && 'dataSync' in batch && 'dtype' in batch) {
    const t = batch as Tensor;
    if (t.dtype !== 'float32') return null;
    const d = t.dataSync();
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return { tensor: `${path} [${t.shape.join(', ')}]`, value: d[i]!, index: i };
    return null;
  }
  if (Array.isArray(batch)) {
    for (let i = 0; i < batch.length; i++) {
      const r = findNonFinite(batch[i], `${path}[${i}]`);
      if (r) return r;
    }
  } else if (batch && typeof batch === 'object') {
    for (const [k, v] of Object.entries(batch)) {
      const r = findNonFinite(v, `${path}.${k}`);
      if (r) return r;
    }
  }
  return null;
}

export interface TrainerOptions<B> {
  model: Module;
  optimizer: Optimizer<any>;
  /** The training loss of one batch. Called inside autodiff; return a scalar. */
  loss: (model: Module, batch: B) => Tensor;
  /** Numbers to average over eval batches (the eval loss is always reported as `loss`). */
  metrics?: (model: Module, batch: B) => Record<string, number>;
  /** An LR schedule (multiplier of each group's initial lr by optimizer step) or a ready scheduler. */
  schedule?: Schedule | LRScheduler;
  callbacks?: Callback[];
  /** Clip the global gradient norm before each step. */
  maxGradNorm?: number;
  clipValue?: number;
  /** Micro-batches per optimizer step (gradient accumulation; gradients are averaged). */
  accumulateSteps?: number;
  /** Throw NonFiniteError when the loss or the gradient norm is NaN/Inf (default true). */
  checkFinite?: boolean;
  /**
   * Adds a ProgressLogger: a bar redrawn in place when stderr is a TTY, JSON lines otherwise
   * (`true`, or the logger's options). Default off.
   */
  progress?: boolean | ConstructorParameters<typeof ProgressLogger>[0];
  /** Scan every training and eval batch for NaN/±Infinity and throw NonFiniteInputError (default false; costs a read of each batch). */
  checkInputs?: boolean;
}

export interface FitOptions<B> {
  /** Stop after this many epochs (default 1 unless maxSteps is given). */
  epochs?: number;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  evalData?: DataLoader<any, B>;
  /** Evaluate every N optimizer steps (default: at the end of every epoch). */
  evalEvery?: number;
  /** Checkpoint file to resume from (written by saveCheckpoint / the Checkpoint callback). */
  resumeFrom?: string;
}

export interface History {
  steps: StepLog[];
  evals: EvalLog[];
  epochs: { epoch: number; step: number; loss: number; seconds: number }[];
}

const firstDim = (b: unknown): number => {
  if (b && typeof b === 'object' && 'shape' in b) return (b as Tensor).shape[0] ?? 1;
  const vals = Array.isArray(b) ? b : b && typeof b === 'object' ? Object.values(b) : [];
  for (const v of vals) {
    const n = firstDim(v);
    if (n) return n;
  }
  return 0;
};

function disposeBatch(b: unknown): void {
  if (b && typeof b === 'object' && 'dispose' in b && 'shape' in b) (b as Tensor).dispose();
  else if (Array.isArray(b)) b.forEach(disposeBatch);
  else if (b && typeof b === 'object') Object.values(b).forEach(disposeBatch);
}

/**
 * The training loop: epochs or a step budget, gradient accumulation and clipping, an LR schedule,
 * eval, callbacks, NaN/Inf detection and checkpoints that resume bit-for-bit (model, buffers,
 * optimizer moments, schedule position, data order and dropout streams are all restored).
 */
export class Trainer<B = unknown> {
  readonly model: Module;
  readonly optimizer: Optimizer<any>;
  readonly scheduler: LRScheduler | undefined;
  readonly callbacks: Callback[];
  /** Optimizer steps taken. */
  step = 0;
  epoch = 0;
  /** Micro-batches consumed in the current epoch. */
  batchInEpoch = 0;
  history: History = { steps: [], evals: [], epochs: [] };
  /** Total steps of the current fit, when known (for progress bars). */
  plannedSteps: number | undefined;
  private stopRequested = false;

  constructor(readonly options: TrainerOptions<B>) {
    this.model = options.model;
    this.optimizer = options.optimizer;
    const s = options.schedule;
    this.scheduler = s instanceof LRScheduler ? s : s ? new LRScheduler(this.optimizer, s) : undefined;
    this.callbacks = [...(options.callbacks ?? [])];
    if (options.progress) this.callbacks.unshift(new ProgressLogger(options.progress === true ? {} : options.progress));
    const acc = options.accumulateSteps ?? 1;
    if (!Number.isInteger(acc) || acc < 1) throw new InvalidArgumentError(`Trainer accumulateSteps: expected a positive integer, got ${acc}`);
  }

  /** Asks the loop to stop after the current step (used by EarlyStopping). */
  stop(): void {
    this.stopRequested = true;
  }

  private async emit<K extends keyof Callback>(hook: K, ...args: unknown[]): Promise<void> {
    for (const cb of this.callbacks) {
      const f = cb[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (f) await f.call(cb, this, ...args);
    }
  }

  private params() {
    return this.optimizer.groups.filter((g) => !g.frozen).flatMap((g) => g.params).filter((p) => p.trainable);
  }

  async fit(train: DataLoader<any, B>, options: FitOptions<B> = {}): Promise<History> {
    if (options.resumeFrom) await this.loadCheckpoint(options.resumeFrom);
    const acc = this.options.accumulateSteps ?? 1;
    const stepsPerEpoch = Math.floor(train.length / acc);
    if (stepsPerEpoch < 1) throw new InvalidArgumentError(`Trainer: the data has ${train.length} batches per epoch, fewer than accumulateSteps (${acc})`);
    const epochs = options.epochs ?? (options.maxSteps ? Infinity : 1);
    const maxSteps = options.maxSteps ?? Infinity;
    this.plannedSteps = Number.isFinite(maxSteps) ? maxSteps : Number.isFinite(epochs) ? epochs * stepsPerEpoch : undefined;
    const check = this.options.checkFinite ?? true;
    this.stopRequested = false;
    this.model.train();
    await this.emit('onTrainBegin');
    const accum = new GradientAccumulator();
    try {
      while (this.epoch < epochs && this.step < maxSteps && !this.stopRequested) {
        const t0 = Date.now();
        let micro: number[] = [];
        for (const batch of train.batches(this.epoch, this.batchInEpoch)) {
          let lossValue: number;
          try {
            if (this.options.checkInputs) this.checkBatch(batch, this.epoch, this.batchInEpoch);
            const { value, grads } = valueAndGrads(() => this.options.loss(this.model, batch), this.params());
            lossValue = value.dataSync()[0]!;
            value.dispose();
            if (acc === 1) {
              this.batchInEpoch++;
              if (check && !Number.isFinite(lossValue)) {
                disposeGrads(grads);
                throw new NonFiniteError(this.step + 1, this.epoch, 'the loss', lossValue);
              }
              this.optimizer.step(grads, { maxGradNorm: this.options.maxGradNorm, clipValue: this.options.clipValue });
              disposeGrads(grads);
            } else {
              accum.add(grads);
              disposeGrads(grads);
              this.batchInEpoch++;
            }
          } finally {
            disposeBatch(batch);
          }
          micro.push(lossValue);
          if (micro.length < acc) continue;
          if (acc > 1) {
            const mean = accum.mean();
            accum.reset();
            if (check && micro.some((l) => !Number.isFinite(l))) {
              disposeGrads(mean);
              throw new NonFiniteError(this.step + 1, this.epoch, 'the loss', micro.find((l) => !Number.isFinite(l))!);
            }
            this.optimizer.step(mean, { maxGradNorm: this.options.maxGradNorm, clipValue: this.options.clipValue });
            disposeGrads(mean);
          }
          const loss = micro.reduce((a, b) => a + b, 0) / micro.length;
          micro = [];
          this.step++;
          const lr = this.optimizer.groups[0]!.lr * this.optimizer.groups[0]!.lrMultiplier;
          this.scheduler?.step();
          if (check) this.checkParams();
          const log: StepLog = { step: this.step, epoch: this.epoch, loss, lr };
          this.history.steps.push(log);
          await this.emit('onStepEnd', log);
          if (options.evalData && options.evalEvery && this.step % options.evalEvery === 0) await this.runEval(options.evalData);
          if (this.step >= maxSteps || this.stopRequested) break;
          if (this.batchInEpoch + acc > train.length) break; // leftover micro-batches do not make a step
        }
        const finished = this.batchInEpoch + acc > train.length;
        if (!finished) break; // stopped mid-epoch
        // From the history, so an epoch split by a resume reports the same mean.
        const losses = this.history.steps.filter((s) => s.epoch === this.epoch).map((s) => s.loss);
        const elog = { epoch: this.epoch, step: this.step, loss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length), seconds: (Date.now() - t0) / 1000 };
        this.history.epochs.push(elog);
        this.epoch++;
        this.batchInEpoch = 0;
        if (options.evalData && !options.evalEvery) await this.runEval(options.evalData);
        await this.emit('onEpochEnd', elog);
      }
    } finally {
      accum.reset();
    }
    await this.emit('onTrainEnd');
    return this.history;
  }

  private checkBatch(batch: unknown, epoch: number, index: number, kind = ''): void {
    const bad = findNonFinite(batch);
    if (bad) throw new NonFiniteInputError(epoch, index, `${kind}${bad.tensor}`, bad.value, bad.index);
  }

  /** Parameters must stay finite: one fused reduction instead of reading every tensor. */
  private checkParams(): void {
    const s = tf.tidy(() => tf.addN(this.params().map((p) => tf.sum(tf.mul(p, 0)))));
    const v = s.dataSync()[0]!;
    s.dispose();
    if (!Number.isFinite(v)) throw new NonFiniteError(this.step, this.epoch, 'a parameter', v);
  }

  private async runEval(data: DataLoader<any, B>): Promise<void> {
    const metrics = this.evaluate(data);
    const log: EvalLog = { step: this.step, epoch: this.epoch, metrics };
    this.history.evals.push(log);
    await this.emit('onEvalEnd', log);
  }

  /** Mean loss (and metrics) over a dataset in eval mode, weighted by batch size. */
  evaluate(data: DataLoader<any, B>): Record<string, number> {
    const wasTraining = this.model.training;
    this.model.eval();
    const sums: Record<string, number> = {};
    let n = 0;
    try {
      let index = 0;
      for (const batch of data.batches(0)) {
        try {
          if (this.options.checkInputs) this.checkBatch(batch, this.epoch, index++, 'eval ');
          const size = firstDim(batch) || 1;
          const l = tf.tidy(() => this.options.loss(this.model, batch));
          sums.loss = (sums.loss ?? 0) + l.dataSync()[0]! * size;
          l.dispose();
          if (this.options.metrics) {
            const m = this.options.metrics(this.model, batch);
            for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v * size;
          }
          n += size;
        } finally {
          disposeBatch(batch);
        }
      }
    } finally {
      this.model.train(wasTraining);
    }
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n]));
  }

  /**
   * Writes a checkpoint: model state dict (`model.*`), optimizer moments (`optim.*`) and the loop
   * position as JSON metadata, to one safetensors file, atomically.
   */
  async saveCheckpoint(path: string): Promise<void> {
    const opt = this.optimizer.stateDict();
    try {
      const tensors: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(this.model.stateDict())) tensors[`model.${k}`] = v;
      for (const [k, v] of Object.entries(opt.tensors)) tensors[`optim.${k}`] = v;
      const trainer = {
        step: this.step, epoch: this.epoch, batchInEpoch: this.batchInEpoch,
        optimizer: opt.meta, scheduler: this.scheduler?.stateDict(), extra: this.model.extraState(),
        callbacks: this.callbacks.map((c) => c.getState?.() ?? null), history: this.history,
      };
      await writeFileAtomic(path, saveSafetensors(tensors, { metadata: { format: 'nutshell-trainer', trainer: JSON.stringify(trainer) } }));
    } finally {
      for (const t of Object.values(opt.tensors)) t.dispose();
    }
  }

  /** Restores everything `saveCheckpoint` wrote. */
  async loadCheckpoint(path: string): Promise<void> {
    const fs = await import('node:fs/promises');
    const { tensors, metadata } = loadSafetensors(new Uint8Array(await fs.readFile(path)));
    try {
      if (metadata?.format !== 'nutshell-trainer' || !metadata.trainer) throw new FormatError('trainer checkpoint', `${path} has no trainer metadata`);
      const meta = JSON.parse(metadata.trainer) as {
        step: number; epoch: number; batchInEpoch: number; optimizer: OptimizerStateDict['meta']; scheduler?: { lastStep: number };
        extra: Record<string, unknown>; callbacks: unknown[]; history: History;
      };
      const model: Record<string, Tensor> = {};
      const optim: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(tensors)) {
        if (k.startsWith('model.')) model[k.slice(6)] = v;
        else if (k.startsWith('optim.')) optim[k.slice(6)] = v;
      }
      this.model.loadStateDict(model);
      this.optimizer.loadStateDict({ tensors: optim, meta: meta.optimizer });
      if (meta.scheduler && this.scheduler) this.scheduler.loadStateDict(meta.scheduler);
      this.model.loadExtraState(meta.extra);
      meta.callbacks.forEach((s, i) => { if (s !== null) this.callbacks[i]?.setState?.(s); });
      this.step = meta.step;
      this.epoch = meta.epoch;
      this.batchInEpoch = meta.batchInEpoch;
      this.history = meta.history;
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }
}

/** Fraction of rows whose argmax equals the int32 label. */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const t = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, -1), labels), 'float32')));
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

/** Accuracy of single-logit (or probability) binary predictions against 0/1 targets. */
export function binaryAccuracy(logits: Tensor, targets: Tensor, threshold = 0): number {
  const t = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.cast(tf.greater(logits, threshold), 'float32'), tf.cast(targets, 'float32')), 'float32')));
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}
