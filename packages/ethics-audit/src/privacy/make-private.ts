import { InvalidArgumentError, NutshellError, Rng, describe, rngFor, tf, type Tensor, type Variable } from '@nutshell/core';
import { BatchNorm1d, BatchNorm2d, type DataLoader, type Module, type Optimizer } from '@nutshell/nn';
import { ghostClippedGradients } from './ghost-clipping.js';
import { perSampleGradients, type PerSampleLoss, type PerSampleStrategy } from './per-sample.js';
import { privatizeGradients } from './dp-sgd.js';
import { poissonSample } from './poisson.js';
import { prvEpsilon } from './prv.js';
import { RdpAccountant, getNoiseMultiplier } from './rdp.js';

export interface MakePrivateOptions {
  /** σ. Give this or `targetEpsilon` (with `epochs`). */
  noiseMultiplier?: number;
  /** Pick σ (Opacus' bisection) so that `epochs` epochs spend at most this ε at `delta`. */
  targetEpsilon?: number;
  epochs?: number;
  /** Per-example clipping norm C. */
  maxGradNorm: number;
  /** δ for the ε reports (default 1e-5). */
  delta?: number;
  /** Poisson sampling with rate q = batchSize / N (default true; what the accountant assumes). */
  poisson?: boolean;
  /** Seeds the noise and the Poisson batches. */
  seed?: number | string;
  /** Per-example gradient strategy (see perSampleGradients). */
  strategy?: PerSampleStrategy;
  /**
   * 'ghost' (default when every trainable parameter is in a sampled layer: Linear, Conv2d, Embedding,
   * LayerNorm, GroupNorm, RMSNorm): per-example norms and the clipped sum without materialising
   * per-example gradients where that is cheaper (see ghostClippedGradients).
   * 'per-sample': materialise them (perSampleGradients) and use privatizeGradients.
   */
  clipping?: 'auto' | 'ghost' | 'per-sample';
  lossReduction?: 'mean' | 'sum';
}

export interface DPStepResult {
  loss: number;
  batchSize: number;
  clippedFraction: number;
  /** How per-example gradients were clipped: ghost/fast clipping, materialised vectorized, the per-example loop, or an empty batch. */
  method: 'ghost' | 'vectorized' | 'loop' | 'noise-only';
}

export interface DPFitOptions {
  epochs?: number;
  /** Called after every step with its result and the step index. */
  onStep?: (r: DPStepResult, step: number) => void;
}

type TensorData = Tensor | Tensor[] | Record<string, Tensor>;

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'dataId' in x;
}

/** A model is DP-compatible when no layer mixes examples of a batch (BatchNorm does). */
export function validatePrivateModel(model: Module): string[] {
  return model.namedModules()
    .filter(([, m]) => m instanceof BatchNorm1d || m instanceof BatchNorm2d)
    .map(([path, m]) => `${path || '(root)'}: ${m.constructor.name} mixes examples of a batch, so per-example gradients are not defined; use GroupNorm or LayerNorm`);
}

/**
 * DP-SGD training state, like what Opacus' `PrivacyEngine.make_private` returns: the model, the
 * optimizer (stepped with privatized gradients), a Poisson-sampled loader over the same data, and an
 * RDP accountant that records every step.
 */
export class PrivateTraining<B = unknown> {
  readonly accountant = new RdpAccountant();
  readonly sampleRate: number;
  readonly expectedBatchSize: number;
  readonly numSamples: number;
  readonly noiseMultiplier: number;
  readonly maxGradNorm: number;
  readonly delta: number;
  readonly poisson: boolean;
  /** Steps per epoch: ⌊1/q⌋ Poisson batches (Opacus' convention), else the loader's batch count. */
  readonly stepsPerEpoch: number;
  steps = 0;
  epoch = 0;
  private readonly noiseRng: Rng;
  private readonly sampleRng: Rng;

  constructor(readonly model: Module, readonly optimizer: Optimizer<any>, readonly loader: DataLoader<any, B>, private readonly options: MakePrivateOptions) { // eslint-disable-line @typescript-eslint/no-explicit-any
    const { maxGradNorm } = options;
    if (typeof maxGradNorm !== 'number' || !(maxGradNorm > 0)) throw new InvalidArgumentError(`makePrivate: maxGradNorm must be > 0, got ${describe(maxGradNorm)}`);
    const bad = validatePrivateModel(model);
    if (bad.length) throw new InvalidArgumentError(`makePrivate: the model is not DP-compatible: ${bad.join('; ')}`);
    this.delta = options.delta ?? 1e-5;
    if (!(this.delta > 0 && this.delta < 1)) throw new InvalidArgumentError(`makePrivate: delta must be in (0, 1), got ${describe(options.delta)}`);
    this.numSamples = loader.numSamples;
    this.expectedBatchSize = loader.batchSize;
    this.sampleRate = Math.min(1, loader.batchSize / loader.numSamples);
    this.poisson = options.poisson ?? true;
    this.stepsPerEpoch = this.poisson ? Math.max(1, Math.floor(1 / this.sampleRate)) : loader.length;
    if ((options.noiseMultiplier === undefined) === (options.targetEpsilon === undefined)) {
      throw new InvalidArgumentError('makePrivate: give exactly one of noiseMultiplier and targetEpsilon');
    }
    if (options.targetEpsilon !== undefined) {
      if (!(typeof options.epochs === 'number' && options.epochs > 0)) throw new InvalidArgumentError('makePrivate: targetEpsilon needs epochs (the training length the budget covers)');
      this.noiseMultiplier = getNoiseMultiplier({ targetEpsilon: options.targetEpsilon, targetDelta: this.delta, sampleRate: this.sampleRate, steps: Math.round(options.epochs * this.stepsPerEpoch) });
    } else {
      const s = options.noiseMultiplier!;
      if (typeof s !== 'number' || !(s >= 0) || !Number.isFinite(s)) throw new InvalidArgumentError(`makePrivate: noiseMultiplier must be a finite number >= 0, got ${describe(s)}`);
      this.noiseMultiplier = s;
    }
    this.maxGradNorm = maxGradNorm;
    const rng = rngFor(options.seed ?? 0);
    this.noiseRng = rng.fork('noise');
    this.sampleRng = rng.fork('poisson');
  }

  /**
   * One DP-SGD step on `batch`: per-example gradients, clip each to C, sum, add N(0, σ²C²), divide
   * by the expected batch size (Poisson) or the batch size, step the optimizer, record the step in
   * the accountant. An empty batch (possible under Poisson sampling) steps with noise only.
   */
  step(batch: B | null, loss: PerSampleLoss<B>): DPStepResult {
    const params = this.model.parameters({ trainableOnly: true });
    const divisor = this.poisson ? this.expectedBatchSize : undefined;
    let grads: Tensor[], result: DPStepResult;
    let ghost: ReturnType<typeof ghostClippedGradients> = null;
    const empty = batch === null || batchIsEmpty(batch);
    if (empty) {
      const d = divisor ?? 1;
      grads = params.map((p) => tf.tidy(() => tf.div(this.noiseRng.normalTensor(p.shape, 0, this.noiseMultiplier * this.maxGradNorm), d)));
      result = { loss: NaN, batchSize: 0, clippedFraction: 0, method: 'noise-only' };
    } else if ((this.options.clipping ?? 'auto') !== 'per-sample' && this.options.strategy !== 'loop'
      && (ghost = ghostClippedGradients(this.model, loss, batch, { maxGradNorm: this.maxGradNorm, noiseMultiplier: this.noiseMultiplier, expectedBatchSize: divisor, seed: this.noiseRng, lossReduction: this.options.lossReduction }))) {
      grads = ghost.grads;
      result = { loss: ghost.loss, batchSize: ghost.batchSize, clippedFraction: ghost.clippedFraction, method: 'ghost' };
    } else {
      if (this.options.clipping === 'ghost') throw new InvalidArgumentError('makePrivate: ghost clipping needs every trainable parameter in a sampled layer (Linear, Conv2d, Embedding, LayerNorm, GroupNorm, RMSNorm) with no other use of its parameters; use clipping "per-sample"');
      const ps = perSampleGradients(this.model, loss, batch, { strategy: this.options.strategy, lossReduction: this.options.lossReduction });
      try {
        const priv = privatizeGradients(ps.grads, { maxGradNorm: this.maxGradNorm, noiseMultiplier: this.noiseMultiplier, expectedBatchSize: divisor, seed: this.noiseRng });
        grads = priv.grads;
        result = { loss: ps.loss, batchSize: ps.batchSize, clippedFraction: priv.clippedFraction, method: ps.strategy };
      } finally {
        tf.dispose(ps.grads);
      }
    }
    const map = new Map<Variable, Tensor>(params.map((p, i) => [p, grads[i]!]));
    try {
      this.optimizer.step(map);
    } finally {
      tf.dispose(grads);
    }
    if (this.noiseMultiplier > 0) this.accountant.step(this.noiseMultiplier, this.sampleRate);
    this.steps++;
    return result;
  }

  /** The batches of one epoch: ⌊1/q⌋ Poisson samples (each example in with probability q), or the loader's own batches. */
  *batches(): Generator<B | null> {
    const epoch = this.epoch++;
    if (!this.poisson) {
      yield* this.loader.batches(epoch);
      return;
    }
    for (let s = 0; s < this.stepsPerEpoch; s++) {
      const idx = poissonSample(this.numSamples, this.sampleRate, this.sampleRng);
      yield idx.length ? this.gather(idx) : null;
    }
  }

  private gather(indices: number[]): B {
    const d = this.loader.data as unknown;
    if (isTensor(d) || Array.isArray(d) || !(d && typeof d === 'object' && 'get' in d)) {
      return tf.tidy(() => {
        const idx = tf.tensor1d(indices, 'int32');
        const t = d as TensorData;
        if (isTensor(t)) return tf.gather(t, idx);
        if (Array.isArray(t)) return t.map((x) => tf.gather(x, idx));
        return Object.fromEntries(Object.entries(t).map(([k, x]) => [k, tf.gather(x, idx)]));
      }) as unknown as B;
    }
    const ds = d as { get(i: number): unknown };
    const collate = this.loader.options.collate;
    if (!collate) throw new NutshellError('E_DP_LOADER', 'makePrivate: a Dataset loader needs a collate function for Poisson batches');
    return collate(indices.map((i) => ds.get(i))) as B;
  }

  /** Trains for `epochs` epochs of DP-SGD; disposes each batch. */
  fit(loss: PerSampleLoss<B>, options: DPFitOptions = {}): { steps: DPStepResult[]; epsilon: number } {
    const epochs = options.epochs ?? this.options.epochs ?? 1;
    const steps: DPStepResult[] = [];
    for (let e = 0; e < epochs; e++) {
      for (const batch of this.batches()) {
        try {
          const r = this.step(batch, loss);
          steps.push(r);
          options.onStep?.(r, this.steps);
        } finally {
          if (batch) tf.dispose(tensorsOf(batch));
        }
      }
    }
    return { steps, epsilon: this.getEpsilon() };
  }

  /** ε spent so far at δ (default: the δ given to makePrivate), from the RDP accountant; Infinity when σ = 0. */
  getEpsilon(delta = this.delta, accountant: 'rdp' | 'prv' = 'rdp'): number {
    if (this.steps === 0) return 0;
    if (this.noiseMultiplier === 0) return Infinity;
    if (accountant === 'prv') return prvEpsilon({ sampleRate: this.sampleRate, noiseMultiplier: this.noiseMultiplier, steps: this.steps, delta }).epsilon;
    return this.accountant.getEpsilon(delta);
  }

  /** What a report needs to recompute ε: the mechanism and its length. */
  privacySummary(): { noiseMultiplier: number; sampleRate: number; steps: number; delta: number; maxGradNorm: number; epsilon: number } {
    return { noiseMultiplier: this.noiseMultiplier, sampleRate: this.sampleRate, steps: this.steps, delta: this.delta, maxGradNorm: this.maxGradNorm, epsilon: this.getEpsilon() };
  }
}

function batchIsEmpty(batch: unknown): boolean {
  const ts = tensorsOf(batch);
  return ts.length > 0 && ts[0]!.rank > 0 && ts[0]!.shape[0] === 0;
}

function tensorsOf(x: unknown): Tensor[] {
  if (isTensor(x)) return [x];
  if (Array.isArray(x)) return x.flatMap(tensorsOf);
  if (x && typeof x === 'object') return Object.values(x).flatMap(tensorsOf);
  return [];
}

/**
 * Opacus-style `make_private`: wraps a model, its optimizer and a DataLoader into DP-SGD training
 * (per-example clipping to `maxGradNorm`, Gaussian noise σ·C, Poisson sampling at q = batchSize/N,
 * RDP accounting). With `targetEpsilon` and `epochs`, σ is chosen so the whole run stays within ε.
 */
export function makePrivate<B>(model: Module, optimizer: Optimizer<any>, loader: DataLoader<any, B>, options: MakePrivateOptions): PrivateTraining<B> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new PrivateTraining(model, optimizer, loader, options);
}
