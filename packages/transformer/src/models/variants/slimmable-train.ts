import { InvalidArgumentError, Rng, describe, rngFor, tf, type Tensor } from '@nutshell/core';
import { AdamW, crossEntropy, disposeGrads, valueAndGrads, type Optimizer } from '@nutshell/nn';
import { SLIMMABLE_WIDTHS, type SlimmableGPT } from './slimmable.js';

/** Identity forward, zero gradient (torch's .detach()), for distillation targets. */
export function stopGradient(x: Tensor): Tensor {
  const f = tf.customGrad(((t: Tensor) => ({ value: tf.clone(t), gradFunc: (dy: Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (t: Tensor) => Tensor;
  return f(x);
}

export interface SandwichOptions {
  /** The width set (default 0.25, 0.5, 0.75, 1). */
  widths?: readonly number[];
  /** Random widths per step besides the largest and smallest (default 2). */
  randomWidths?: number;
  /** Draw the random widths uniformly from [min, max] instead of from the set's interior. */
  continuous?: boolean;
  /** In-place distillation: sub-widths learn the largest width's (detached) predictions (default true). */
  distill?: boolean;
}

/**
 * The sandwich rule (Yu & Huang 2019, universally slimmable networks): every step trains the
 * largest and the smallest width plus n random widths in between.
 */
export function sandwichWidths(options: SandwichOptions, rng: Rng): number[] {
  const set = [...(options.widths ?? SLIMMABLE_WIDTHS)].sort((a, b) => a - b);
  if (!set.length || set.some((w) => !(w > 0 && w <= 1))) throw new InvalidArgumentError(`sandwich: widths must be in (0, 1], got ${describe(options.widths)}`);
  const lo = set[0]!;
  const hi = set[set.length - 1]!;
  const n = options.randomWidths ?? 2;
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`sandwich: randomWidths must be a non-negative integer, got ${describe(n)}`);
  const interior = set.slice(1, -1);
  const out = [hi];
  if (lo !== hi) out.push(lo);
  for (let i = 0; i < n; i++) {
    if (options.continuous) out.push(lo + rng.uniform() * (hi - lo));
    else if (interior.length) out.push(interior[rng.int(interior.length)]!);
  }
  return out;
}

export interface SandwichStepResult {
  widths: number[];
  /** Training loss at each width of the step, in order (hard-label cross-entropy). */
  losses: number[];
}

/**
 * One sandwich-rule step: the gradients of all chosen widths are summed (one backward through
 * their summed losses) and applied in one optimizer step. The largest width learns the labels;
 * with `distill` the others learn its softmax (soft cross-entropy), else the labels too.
 */
export function sandwichStep(model: SlimmableGPT, optimizer: Optimizer<any>, x: Tensor, y: Tensor, options: SandwichOptions & { rng?: Rng; maxGradNorm?: number } = {}): SandwichStepResult {
  const widths = sandwichWidths(options, options.rng ?? rngFor());
  const distill = options.distill ?? true;
  const V = model.config.vocabSize;
  const losses: number[] = [];
  const prev = model.width;
  try {
    const { value, grads } = valueAndGrads(() => {
      let teacher: Tensor | null = null;
      const parts = widths.map((w, i) => {
        model.setWidth(w);
        const logits = tf.reshape(model.forward(x), [-1, V]);
        const hard = crossEntropy(logits, tf.reshape(y, [-1]));
        losses.push(hard.dataSync()[0]!);
        if (i === 0) {
          teacher = stopGradient(tf.softmax(logits));
          return hard;
        }
        if (!distill) return hard;
        return tf.neg(tf.mean(tf.sum(tf.mul(teacher!, tf.logSoftmax(logits)), -1)));
      });
      return tf.addN(parts) as tf.Scalar;
    }, model);
    value.dispose();
    optimizer.step(grads, { maxGradNorm: options.maxGradNorm });
    disposeGrads(grads);
  } finally {
    model.setWidth(prev);
  }
  return { widths, losses };
}

export interface TrainSlimmableOptions extends SandwichOptions {
  /** A token stream; training samples are random windows of context + 1 tokens. */
  tokens: ArrayLike<number>;
  steps: number;
  batchSize?: number;
  /** Window length (default the model's context). */
  context?: number;
  lr?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  seed?: number | string;
  /** Called after every step. */
  onStep?: (step: number, result: SandwichStepResult) => void;
}

/** Trains a SlimmableGPT as a language model with the sandwich rule (AdamW, constant lr). */
export function trainSlimmable(model: SlimmableGPT, options: TrainSlimmableOptions): SandwichStepResult[] {
  const T = options.context ?? model.config.nPositions;
  const tokens = options.tokens;
  if (!tokens || tokens.length < T + 2) throw new InvalidArgumentError(`trainSlimmable: need more than ${T + 1} tokens, got ${describe(tokens?.length)}`);
  if (!Number.isInteger(options.steps) || options.steps < 1) throw new InvalidArgumentError(`trainSlimmable: steps must be a positive integer, got ${describe(options.steps)}`);
  const B = options.batchSize ?? 16;
  const rng = new Rng(options.seed ?? 0);
  const optimizer = new AdamW(model, { lr: options.lr ?? 3e-3, weightDecay: options.weightDecay ?? 0 });
  const out: SandwichStepResult[] = [];
  model.train();
  try {
    for (let s = 0; s < options.steps; s++) {
      const xs = new Int32Array(B * T);
      const ys = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const o = rng.int(tokens.length - T - 1);
        for (let t = 0; t < T; t++) {
          xs[b * T + t] = tokens[o + t]!;
          ys[b * T + t] = tokens[o + t + 1]!;
        }
      }
      const x = tf.tensor2d(xs, [B, T], 'int32');
      const y = tf.tensor2d(ys, [B, T], 'int32');
      try {
        const r = sandwichStep(model, optimizer, x, y, { ...options, rng });
        out.push(r);
        options.onStep?.(s, r);
      } finally {
        x.dispose();
        y.dispose();
      }
    }
  } finally {
    optimizer.dispose();
    model.eval();
  }
  return out;
}
