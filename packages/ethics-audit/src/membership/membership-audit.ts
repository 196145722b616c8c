import { InvalidArgumentError, ShapeError, describe, rngFor, tf, type Tensor } from '@nutshell/core';
import { DataLoader, crossEntropy, type Module, type Optimizer } from '@nutshell/nn';
import { makePrivate, PrivateTraining } from '../privacy/make-private.js';
import type { PerSampleLoss } from '../privacy/per-sample.js';
import { classifierSignals, evaluateMembership, shadowStatistics, type MembershipEvaluation } from './shadow.js';

/** How the target and the shadow models are trained: the same recipe for both gives matched shadows. */
export interface TrainingRecipe {
  /** A fresh model for one run (seeded). */
  createModel(seed: number): Module;
  createOptimizer(model: Module): Optimizer<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  epochs: number;
  batchSize: number;
  /**
   * DP-SGD through makePrivate (Poisson sampling at q = batchSize / |members|, per-example clipping,
   * Gaussian noise, RDP accounting); absent: ordinary shuffled minibatch training.
   */
  dp?: { noiseMultiplier?: number; targetEpsilon?: number; maxGradNorm: number; delta?: number; clipping?: 'auto' | 'ghost' | 'per-sample' };
  /** Per-example losses [B] of a batch [x, y] (default: cross-entropy of model.forward(x)). */
  loss?: PerSampleLoss<Tensor[]>;
}

/** The privacy of one training run: ε from the RDP accountant, or Infinity without DP-SGD. */
export interface RunPrivacy {
  dp: boolean;
  epsilon: number;
  delta?: number;
  noiseMultiplier?: number;
  maxGradNorm?: number;
  sampleRate?: number;
  steps: number;
  members: number;
}

const defaultLoss: PerSampleLoss<Tensor[]> = (m, [x, y]) => crossEntropy(m.forward(x!) as Tensor, y!, { reduction: 'none' });

function validateRecipe(r: TrainingRecipe, what: string): void {
  if (!r || typeof r.createModel !== 'function' || typeof r.createOptimizer !== 'function') throw new InvalidArgumentError(`${what}: needs createModel(seed) and createOptimizer(model), got ${describe(r)}`);
  if (!(Number.isInteger(r.epochs) && r.epochs > 0)) throw new InvalidArgumentError(`${what}: epochs must be a positive integer, got ${describe(r.epochs)}`);
  if (!(Number.isInteger(r.batchSize) && r.batchSize > 0)) throw new InvalidArgumentError(`${what}: batchSize must be a positive integer, got ${describe(r.batchSize)}`);
}

/** The privacy of a makePrivate run, as reported here. */
export function runPrivacyOf(dp: PrivateTraining<unknown>): RunPrivacy {
  const s = dp.privacySummary();
  return { dp: true, epsilon: s.epsilon, delta: s.delta, noiseMultiplier: s.noiseMultiplier, maxGradNorm: s.maxGradNorm, sampleRate: s.sampleRate, steps: s.steps, members: dp.numSamples };
}

/**
 * Trains a fresh model of the recipe on the pool rows `members` of (x, y): DP-SGD when the recipe has
 * `dp`, else shuffled minibatches. The caller owns the returned model.
 */
export function trainOnMembers(x: Tensor, y: Tensor, members: readonly number[], recipe: TrainingRecipe, seed: number): { model: Module; privacy: RunPrivacy } {
  validateRecipe(recipe, 'trainOnMembers');
  if (members.length === 0) throw new InvalidArgumentError('trainOnMembers: no members to train on');
  const data = tf.tidy(() => {
    const idx = tf.tensor1d(Array.from(members), 'int32');
    return [tf.gather(x, idx), tf.gather(y, idx)];
  });
  const model = recipe.createModel(seed);
  const optimizer = recipe.createOptimizer(model);
  const loss = recipe.loss ?? defaultLoss;
  try {
    const loader = new DataLoader<unknown, Tensor[]>(data, { batchSize: recipe.batchSize, shuffle: true, seed });
    if (recipe.dp) {
      const dp = makePrivate(model, optimizer, loader, { ...recipe.dp, epochs: recipe.epochs, seed });
      dp.fit(loss, { epochs: recipe.epochs });
      return { model, privacy: runPrivacyOf(dp) };
    }
    let steps = 0;
    for (let e = 0; e < recipe.epochs; e++) {
      for (const batch of loader.batches(e)) {
        try {
          optimizer.minimize(() => tf.mean(loss(model, batch)));
          steps++;
        } finally {
          tf.dispose(batch);
        }
      }
    }
    return { model, privacy: { dp: false, epsilon: Infinity, steps, members: members.length } };
  } finally {
    optimizer.dispose();
    tf.dispose(data);
  }
}

export interface MembershipAuditOptions {
  /** The candidate pool: inputs [N, ...] and integer labels [N]. */
  x: Tensor;
  y: Tensor;
  /** Pool rows the target trained on (the rest are non-members). */
  targetMembers: readonly number[];
  /** Recipe of the target (trained here unless `target` is given) and, by default, of the shadows. */
  recipe: TrainingRecipe;
  /** A different recipe for the shadows (e.g. to measure what mismatched shadows miss). */
  shadowRecipe?: TrainingRecipe;
  /** An already trained target and its privacy (a makePrivate result or a RunPrivacy); default: train one with `recipe`. */
  target?: { model: Module; privacy?: PrivateTraining<unknown> | RunPrivacy };
  /** Even, ≥ 2; each pool example is IN for exactly half of them. */
  numShadows: number;
  seed?: number;
  /** Logits of a batch (default model.forward), for classifierSignals. */
  forward?: (m: Module, x: Tensor) => Tensor;
  /** Called after each shadow is trained (progress). */
  onShadow?: (shadow: number, privacy: RunPrivacy) => void;
}

export interface MembershipAudit extends MembershipEvaluation {
  privacy: {
    target: RunPrivacy | null;
    shadows: RunPrivacy[];
    /** Whether the shadows were trained like the target (both non-private, or DP-SGD with the same σ and C). */
    shadowsMatchTarget: boolean | null;
  };
  /** The target model (trained here when not given: the caller owns it). */
  target: Module;
}

function sameMechanism(a: RunPrivacy, b: RunPrivacy): boolean {
  return a.dp === b.dp && (!a.dp || (a.noiseMultiplier === b.noiseMultiplier && a.maxGradNorm === b.maxGradNorm));
}

/**
 * A LiRA membership audit that owns the training (Carlini et al. 2022): trains the target (or takes a
 * trained one), trains `numShadows` shadow models on balanced random halves of the pool with the same
 * recipe — DP-SGD when the recipe says so, so a DP-trained target is attacked with matched DP shadows —
 * and reports the loss attack and LiRA online/offline (AUC, TPR at 0.1 % and 1 % FPR) next to the ε of
 * the target and of every shadow from the RDP accountant.
 */
export async function membershipAudit(options: MembershipAuditOptions): Promise<MembershipAudit> {
  const { x, y, targetMembers, numShadows } = options;
  validateRecipe(options.recipe, 'membershipAudit recipe');
  if (options.shadowRecipe) validateRecipe(options.shadowRecipe, 'membershipAudit shadowRecipe');
  if (!Number.isInteger(numShadows) || numShadows < 2 || numShadows % 2) throw new InvalidArgumentError(`membershipAudit: numShadows must be an even integer >= 2, got ${describe(numShadows)}`);
  const N = x.shape[0]!;
  if (y.rank !== 1 || y.shape[0] !== N) throw new ShapeError(`membershipAudit: labels must be [${N}], got [${y.shape.join(', ')}]`);
  const isMember = new Array<boolean>(N).fill(false);
  for (const i of targetMembers) {
    if (!Number.isInteger(i) || i < 0 || i >= N) throw new InvalidArgumentError(`membershipAudit: target member ${describe(i)} is not a pool row below ${N}`);
    isMember[i] = true;
  }
  const seed = options.seed ?? 0;
  const seeds = rngFor(seed).fork('membership-audit');
  let target: Module, targetPrivacy: RunPrivacy | null;
  if (options.target) {
    target = options.target.model;
    const p = options.target.privacy;
    targetPrivacy = p instanceof PrivateTraining ? runPrivacyOf(p) : (p ?? null);
  } else {
    const run = trainOnMembers(x, y, targetMembers, options.recipe, seeds.int(2 ** 31));
    target = run.model;
    targetPrivacy = run.privacy;
  }
  const signals = classifierSignals(target, x, y, { forward: options.forward });
  const shadowRecipe = options.shadowRecipe ?? options.recipe;
  const shadowPrivacy: RunPrivacy[] = [];
  const shadowSeed = seeds.int(2 ** 31);
  const shadows = await shadowStatistics({
    numExamples: N, numShadows, seed: seeds.fork('shadows'),
    trainAndScore(members, s) {
      const run = trainOnMembers(x, y, members, shadowRecipe, shadowSeed + s + 1);
      try {
        shadowPrivacy.push(run.privacy);
        options.onShadow?.(s, run.privacy);
        return classifierSignals(run.model, x, y, { forward: options.forward }).phi;
      } finally {
        run.model.dispose();
      }
    },
  });
  const evaluation = evaluateMembership({ isMember, target: signals, shadows });
  return {
    ...evaluation,
    privacy: { target: targetPrivacy, shadows: shadowPrivacy, shadowsMatchTarget: targetPrivacy ? shadowPrivacy.every((p) => sameMechanism(p, targetPrivacy)) : null },
    target,
  };
}
