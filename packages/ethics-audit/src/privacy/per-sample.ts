import { InvalidArgumentError, ShapeError, describe, tf, type Tensor, type Variable } from '@nutshell/core';
import { Linear, valueAndGrads, type Module } from '@nutshell/nn';

/**
 * A training loss for per-example gradients: either per-example losses of shape [B] (preferred) or
 * a scalar that is the mean (default) or sum over the batch, as set by `lossReduction`.
 */
export type PerSampleLoss<B> = (model: Module, batch: B) => Tensor;

export type PerSampleStrategy = 'auto' | 'vectorized' | 'loop';

export interface PerSampleOptions {
  /**
   * 'vectorized': one forward/backward pass for the whole batch; needs every trainable parameter to
   * sit in a Linear layer called once per forward (MLPs, heads). 'loop': one forward/backward pass per
   * example (any model; B times slower). 'auto' (default) picks vectorized when possible.
   */
  strategy?: PerSampleStrategy;
  /** How a scalar loss reduces the batch (default 'mean', as nn's losses). Ignored for [B] losses. */
  lossReduction?: 'mean' | 'sum';
}

export interface PerSampleGradients {
  /** The trainable parameters, in `model.parameters()` order. */
  params: Variable[];
  /** One tensor per parameter, shaped [B, ...param.shape]: example b's gradient of its own loss. Caller owns them. */
  grads: Tensor[];
  /** Mean loss over the batch. */
  loss: number;
  batchSize: number;
  strategy: 'vectorized' | 'loop';
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'dataId' in x;
}

/** The first tensor of a batch (tensor, array or record): its first dim is the batch size. */
function firstTensor(batch: unknown): Tensor | undefined {
  if (isTensor(batch)) return batch;
  if (Array.isArray(batch)) {
    for (const b of batch) {
      const t = firstTensor(b);
      if (t) return t;
    }
  } else if (batch && typeof batch === 'object') {
    for (const b of Object.values(batch)) {
      const t = firstTensor(b);
      if (t) return t;
    }
  }
  return undefined;
}

/** Example i of a batch, keeping its structure and a batch dim of 1. */
function sliceBatch<B>(batch: B, i: number): B {
  const go = (x: unknown): unknown => {
    if (isTensor(x)) return tf.slice(x, [i], [1]);
    if (Array.isArray(x)) return x.map(go);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, go(v)]));
    return x;
  };
  return go(batch) as B;
}

/** Batch size of a batch: the first dim of its first tensor. */
export function batchSizeOf(batch: unknown): number {
  const t = firstTensor(batch);
  if (!t || t.rank < 1) throw new InvalidArgumentError(`per-example gradients: the batch holds no tensor with a batch dimension (got ${describe(batch)})`);
  return t.shape[0]!;
}

/** Sums a loss into the objective whose gradient, per example, is that example's own loss gradient. */
function perExampleObjective(loss: Tensor, B: number, reduction: 'mean' | 'sum'): { objective: Tensor; mean: Tensor } {
  if (loss.rank === 0) {
    const objective = reduction === 'mean' ? tf.mul(loss, B) : loss;
    return { objective, mean: reduction === 'mean' ? loss : tf.div(loss, B) };
  }
  if (loss.rank !== 1 || loss.shape[0] !== B) throw new ShapeError(`per-example gradients: the loss must be a scalar or per-example losses of shape [${B}], got shape [${loss.shape.join(', ')}]`);
  return { objective: tf.sum(loss), mean: tf.mean(loss) };
}

/** Linear layers that own every trainable parameter of the model, or null if some parameter lives elsewhere. */
function linearCover(model: Module, params: Variable[]): Linear[] | null {
  const linears = model.modules().filter((m): m is Linear => m instanceof Linear);
  const covered = new Set<Variable>();
  for (const l of linears) {
    covered.add(l.weight);
    if (l.bias) covered.add(l.bias);
  }
  return params.every((p) => covered.has(p)) ? linears : null;
}

/**
 * Per-example gradients of `loss` on `batch` with respect to the model's trainable parameters.
 *
 * Vectorized path (Opacus' "hooks" method, done with probes because tfjs has no module hooks): each
 * Linear's output gets a zero probe tensor added, so the gradient with respect to the probe is the
 * backpropagated gradient g_b at that layer for every example; with the layer's input a_b recorded in
 * the same pass, example b's weight gradient is g_bᵀ a_b (one batched matmul) and its bias gradient
 * Σ_t g_b. Cost: one forward/backward plus B·|W| memory for the materialised gradients (needed for
 * per-example clipping). A first forward without gradients records the probe shapes.
 *
 * Loop path: B forward/backward passes on single examples — works for any layer (conv, norm,
 * attention) but costs B times a batch-1 step.
 */
export function perSampleGradients<B>(model: Module, loss: PerSampleLoss<B>, batch: B, options: PerSampleOptions = {}): PerSampleGradients {
  if (typeof loss !== 'function') throw new InvalidArgumentError(`perSampleGradients: loss must be a function (model, batch) => Tensor, got ${describe(loss)}`);
  const params = model.parameters({ trainableOnly: true });
  if (params.length === 0) throw new InvalidArgumentError('perSampleGradients: the model has no trainable parameters');
  const B = batchSizeOf(batch);
  if (B === 0) throw new ShapeError('perSampleGradients: the batch is empty');
  const reduction = options.lossReduction ?? 'mean';
  const strategy = options.strategy ?? 'auto';
  if (!['auto', 'vectorized', 'loop'].includes(strategy)) throw new InvalidArgumentError(`perSampleGradients: strategy must be 'auto', 'vectorized' or 'loop', got ${describe(strategy)}`);
  const linears = strategy === 'loop' ? null : linearCover(model, params);
  if (strategy === 'vectorized' && !linears) throw new InvalidArgumentError('perSampleGradients: the vectorized strategy needs every trainable parameter to belong to a Linear layer; use strategy "loop"');
  if (linears) {
    const v = vectorized(model, loss, batch, B, reduction, params, linears);
    if (v) return v;
    if (strategy === 'vectorized') throw new InvalidArgumentError('perSampleGradients: a Linear layer was not called exactly once on a batch-major input; use strategy "loop"');
  }
  return loop(model, loss, batch, B, params);
}

/** A Linear layer's input activations and output backprops for a batch (what Opacus' hooks capture). */
export interface LinearTrace {
  layer: Linear;
  /** The layer's input, [B, ..., in]. */
  activation: Tensor;
  /** d objective / d output, [B, ..., out]: each example's own backpropagated gradient. */
  backprop: Tensor;
}

/**
 * One forward/backward pass that records, for every Linear the forward uses, its inputs and the
 * per-example backprops at its output (through zero probes added to the outputs). Returns null when
 * a Linear runs more than once or not batch-major. The caller disposes the traces' tensors.
 */
export function traceLinears<B>(model: Module, loss: PerSampleLoss<B>, batch: B, B: number, reduction: 'mean' | 'sum', linears: Linear[]): { traces: LinearTrace[]; loss: number } | null {
  // Pass 1: record each Linear's output shape (and that it runs exactly once, batch-major).
  const shapes = new Map<Linear, number[][]>();
  const originals = linears.map((l) => l.forward);
  const restore = () => linears.forEach((l, i) => { l.forward = originals[i]!; });
  try {
    linears.forEach((l, i) => {
      l.forward = (x: Tensor) => {
        const y = originals[i]!.call(l, x);
        shapes.set(l, [...(shapes.get(l) ?? []), y.shape]);
        return y;
      };
    });
    tf.tidy(() => { loss(model, batch); });
  } finally {
    restore();
  }
  const used = linears.filter((l) => shapes.has(l));
  if (used.length === 0 || used.some((l) => shapes.get(l)!.length !== 1 || shapes.get(l)![0]![0] !== B)) return null;

  // Pass 2: add zero probes to every Linear output; d objective / d probe = per-example backprops.
  const probes = used.map((l) => tf.zeros(shapes.get(l)![0]!));
  const acts = new Map<Linear, Tensor>();
  let out: { value: Tensor; grads: Tensor[] };
  try {
    used.forEach((l, k) => {
      const i = linears.indexOf(l), probe = probes[k]!;
      l.forward = (x: Tensor) => {
        acts.set(l, tf.keep(tf.clone(x)));
        return tf.add(originals[i]!.call(l, x), probe);
      };
    });
    out = tf.tidy(() => {
      let meanLoss: Tensor | undefined;
      const r = tf.grads((...ps: Tensor[]) => {
        void ps;
        const l = loss(model, batch);
        const { objective, mean } = perExampleObjective(l, B, reduction);
        meanLoss = tf.keep(tf.clone(mean));
        return objective;
      })(probes);
      return { value: meanLoss!, grads: r };
    }) as { value: Tensor; grads: Tensor[] };
  } finally {
    restore();
    tf.dispose(probes);
  }
  const lossValue = out.value.dataSync()[0]!;
  out.value.dispose();
  return { traces: used.map((l, k) => ({ layer: l, activation: acts.get(l)!, backprop: out.grads[k]! })), loss: lossValue };
}

/** The Linear layers owning every trainable parameter, or null (exported for the ghost-clipping path). */
export function linearLayersOf(model: Module, params: Variable[]): Linear[] | null {
  return linearCover(model, params);
}

function vectorized<B>(model: Module, loss: PerSampleLoss<B>, batch: B, B: number, reduction: 'mean' | 'sum', params: Variable[], linears: Linear[]): PerSampleGradients | null {
  const t = traceLinears(model, loss, batch, B, reduction, linears);
  if (!t) return null;
  const byParam = new Map<Variable, Tensor>();
  tf.tidy(() => {
    for (const { layer: l, activation: a, backprop: g } of t.traces) {
      const g3 = tf.reshape(g, [B, -1, l.outFeatures]);
      const a3 = tf.reshape(a, [B, -1, l.inFeatures]);
      byParam.set(l.weight, tf.keep(tf.matMul(g3, a3, true, false)));
      if (l.bias) byParam.set(l.bias, tf.keep(tf.sum(g3, 1)));
    }
  });
  tf.dispose(t.traces.flatMap((x) => [x.activation, x.backprop]));
  // Parameters of Linears the forward never used get zero gradients.
  const grads = params.map((p) => byParam.get(p) ?? tf.zeros([B, ...p.shape]));
  return { params, grads, loss: t.loss, batchSize: B, strategy: 'vectorized' };
}

function loop<B>(model: Module, loss: PerSampleLoss<B>, batch: B, B: number, params: Variable[]): PerSampleGradients {
  const rows: Tensor[][] = params.map(() => []);
  let total = 0;
  try {
    for (let i = 0; i < B; i++) {
      const one = sliceBatch(batch, i);
      try {
        const { value, grads } = valueAndGrads(() => {
          const l = loss(model, one);
          return l.rank === 0 ? l : tf.sum(l);
        }, params);
        total += value.dataSync()[0]!;
        value.dispose();
        params.forEach((p, k) => rows[k]!.push(grads.get(p) ?? tf.zeros(p.shape)));
      } finally {
        tf.dispose(firstTensors(one));
      }
    }
    const grads = rows.map((r) => tf.stack(r));
    return { params, grads, loss: total / B, batchSize: B, strategy: 'loop' };
  } finally {
    rows.forEach((r) => tf.dispose(r));
  }
}

function firstTensors(x: unknown): Tensor[] {
  if (isTensor(x)) return [x];
  if (Array.isArray(x)) return x.flatMap(firstTensors);
  if (x && typeof x === 'object') return Object.values(x).flatMap(firstTensors);
  return [];
}

/** Frees the gradients of a PerSampleGradients result. */
export function disposePerSample(r: PerSampleGradients): void {
  tf.dispose(r.grads);
}
