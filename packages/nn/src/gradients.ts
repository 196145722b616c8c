import { InvalidArgumentError, NutshellError, ShapeError, tf, type Scalar, type Tensor, type Variable } from '@nutshell/core';
import { Module, type Parameter } from './module.js';

/** Gradients by parameter (a Map) or by tfjs variable name (what tf.variableGrads returns). */
export type Gradients = Map<Variable, Tensor> | Record<string, Tensor | null>;

/** Looks up a parameter's gradient in either form. */
export function gradOf(grads: Gradients, p: Variable): Tensor | undefined {
  if (grads instanceof Map) return grads.get(p);
  return grads[p.name] ?? undefined;
}

function paramList(params: Parameter[] | Module): Parameter[] {
  return params instanceof Module ? params.parameters() : params;
}

/**
 * Runs `f` (which must return a scalar loss) and differentiates it with respect to the trainable
 * parameters. The caller owns `value` and every gradient (dispose them, e.g. with disposeAll).
 * Parameters the loss does not depend on get no entry.
 */
export function valueAndGrads(f: () => Tensor, params: Parameter[] | Module): { value: Scalar; grads: Map<Variable, Tensor> } {
  const list = paramList(params).filter((p) => p.trainable);
  if (list.length === 0) throw new InvalidArgumentError('valueAndGrads: no trainable parameters (all frozen?)');
  let out: { value: Scalar; grads: Record<string, Tensor | null> };
  try {
    out = tf.variableGrads(f as () => Scalar, list);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg.includes('must return a scalar')) throw new ShapeError(`valueAndGrads: the loss function must return a scalar (rank 0), ${msg.replace(/.*returned /, 'it returned ')}`);
    if (msg.includes('Cannot find a connection')) throw new NutshellError('E_NO_GRADIENT', 'valueAndGrads: the loss does not depend on any of the given parameters');
    throw e;
  }
  const grads = new Map<Variable, Tensor>();
  for (const p of list) {
    const g = out.grads[p.name];
    if (g) grads.set(p, g);
  }
  return { value: out.value, grads };
}

/** Disposes every gradient tensor of a Gradients collection. */
export function disposeGrads(grads: Gradients): void {
  const all = grads instanceof Map ? [...grads.values()] : Object.values(grads);
  for (const g of all) if (g && !g.isDisposed) g.dispose();
}

/**
 * Scales gradients so their global L2 norm (or the given p-norm) is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_: coef = maxNorm / (total + 1e-6), applied only when < 1.
 * Returns new gradients (caller owns them) and the norm before clipping.
 */
export function clipGradNorm(grads: Map<Variable, Tensor>, maxNorm: number, normType = 2): { grads: Map<Variable, Tensor>; totalNorm: number } {
  if (!(maxNorm > 0)) throw new InvalidArgumentError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const entries = [...grads];
  if (entries.length === 0) return { grads: new Map(), totalNorm: 0 };
  const total = tf.tidy(() => {
    if (normType === Infinity) return tf.max(tf.stack(entries.map(([, g]) => tf.max(tf.abs(g)))));
    // The L2 case as squares and one square root: |g|^2 through abs + pow costs two passes (and pow is slow on wasm).
    if (normType === 2) return tf.sqrt(tf.addN(entries.map(([, g]) => tf.sum(tf.square(g)))));
    const parts = entries.map(([, g]) => tf.sum(tf.pow(tf.abs(g), normType)));
    return tf.pow(tf.addN(parts), 1 / normType);
  });
  const totalNorm = total.dataSync()[0]!;
  total.dispose();
  const coef = Math.min(1, maxNorm / (totalNorm + 1e-6));
  const out = new Map<Variable, Tensor>();
  for (const [p, g] of entries) out.set(p, coef < 1 ? tf.mul(g, coef) : tf.clone(g));
  return { grads: out, totalNorm };
}

/** Clamps every gradient element to [−value, value]; returns new gradients the caller owns. */
export function clipGradValue(grads: Map<Variable, Tensor>, value: number): Map<Variable, Tensor> {
  if (!(value > 0)) throw new InvalidArgumentError(`clipGradValue: value must be > 0, got ${value}`);
  const out = new Map<Variable, Tensor>();
  for (const [p, g] of grads) out.set(p, tf.clipByValue(g, -value, value));
  return out;
}

/**
 * Sums gradients over micro-batches for gradient accumulation. `mean()` gives the average over
 * the added micro-batches (owned by the caller); `reset()` frees the sums.
 */
export class GradientAccumulator {
  private sums = new Map<Variable, Tensor>();
  count = 0;

  add(grads: Map<Variable, Tensor>): void {
    for (const [p, g] of grads) {
      const old = this.sums.get(p);
      this.sums.set(p, old ? tf.tidy(() => tf.add(old, g)) : tf.clone(g));
      old?.dispose();
    }
    this.count++;
  }

  mean(): Map<Variable, Tensor> {
    const out = new Map<Variable, Tensor>();
    for (const [p, s] of this.sums) out.set(p, tf.div(s, this.count));
    return out;
  }

  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.count = 0;
  }
}
