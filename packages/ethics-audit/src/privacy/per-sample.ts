import { InvalidArgumentError, ShapeError, describe, tf, type Tensor, type Variable } from '@nutshell/core';
import { valueAndGrads, type Module } from '@nutshell/nn';
import { layerCover } from './grad-samplers/registry.js';
import { traceLayers } from './layer-trace.js';

/**
 * A training loss for per-example gradients: either per-example losses of shape [B] (preferred) or
 * a scalar that is the mean (default) or sum over the batch, as set by `lossReduction`.
 */
export type PerSampleLoss<B> = (model: Module, batch: B) => Tensor;

export type PerSampleStrategy = 'auto' | 'vectorized' | 'loop';

export interface PerSampleOptions {
  /**
   * 'vectorized': one forward/backward pass for the whole batch; needs every trainable parameter to
   * sit in a layer with a grad sampler (Linear, Conv2d, Embedding, LayerNorm, GroupNorm, RMSNorm —
   * see GRAD_SAMPLERS) whose calls account for its whole gradient. 'loop': one forward/backward pass
   * per example (any model; B times slower). 'auto' (default) picks vectorized when possible.
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

/**
 * Per-example gradients of `loss` on `batch` with respect to the model's trainable parameters.
 *
 * Vectorized path (Opacus' "hooks" method, done with probes because tfjs has no module hooks): each
 * sampled layer's output gets a zero probe tensor added, so the gradient with respect to the probe is
 * the backpropagated gradient g_b at that layer for every example; with the layer's input recorded in
 * the same pass, the layer's grad sampler forms each example's gradient (Linear: g_bᵀ a_b; Conv2d:
 * the same over unfolded patches; Embedding: g_b scattered onto the looked-up rows; norms: Σ g_b ⊙ x̂_b).
 * Cost: one forward/backward plus B·|θ| memory for the materialised gradients. A first forward
 * without gradients records the probe shapes; the first call for a model and loss also checks that the
 * traced layers account for the whole gradient (else the loop is used).
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
  if (strategy !== 'loop') {
    const v = vectorized(model, loss, batch, B, reduction, params);
    if (v) return v;
    if (strategy === 'vectorized') throw new InvalidArgumentError('perSampleGradients: the vectorized strategy needs every trainable parameter in a layer with a grad sampler (Linear, Conv2d, Embedding, LayerNorm, GroupNorm, RMSNorm), called on batch-major inputs, with no other use of its parameters; use strategy "loop"');
  }
  return loop(model, loss, batch, B, params);
}

function vectorized<B>(model: Module, loss: PerSampleLoss<B>, batch: B, B: number, reduction: 'mean' | 'sum', params: Variable[]): PerSampleGradients | null {
  const cover = layerCover(model, params);
  if (!cover) return null;
  const t = traceLayers(model, loss, batch, B, reduction, cover, params);
  if (!t) return null;
  const wanted = new Set(params);
  const parts = new Map<Variable, Tensor[]>();
  try {
    tf.tidy(() => {
      for (const c of t.calls) {
        const grads = c.sampler.perSample(c.layer, c.input, c.backprop, B);
        c.sampler.parameters(c.layer).forEach((p, i) => {
          if (wanted.has(p)) parts.set(p, [...(parts.get(p) ?? []), tf.keep(grads[i]!)]);
        });
      }
    });
    // A parameter used by several calls (a reused layer, tied weights) sums their contributions;
    // one whose layer the forward never used gets zeros (the trace checked it has no gradient).
    const grads = params.map((p) => {
      const ps = parts.get(p);
      if (!ps) return tf.zeros([B, ...p.shape]);
      return ps.length === 1 ? ps[0]! : tf.addN(ps);
    });
    return { params, grads, loss: t.loss, batchSize: B, strategy: 'vectorized' };
  } finally {
    for (const ps of parts.values()) if (ps.length > 1) tf.dispose(ps);
    tf.dispose(t.calls.flatMap((c) => [c.input, c.backprop]));
  }
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
