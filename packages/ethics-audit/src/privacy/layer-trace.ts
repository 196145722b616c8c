import { ShapeError, tf, type Tensor, type Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import type { CoveredLayer } from './grad-samplers/registry.js';
import type { GradSampler } from './grad-samplers/types.js';

/** A loss for per-example gradients: per-example losses [B] (preferred) or a batch mean/sum scalar. */
export type TraceLoss<B> = (model: Module, batch: B) => Tensor;

/** One call of a sampled layer in a forward pass: its input and the per-example backprop at its output. */
export interface LayerCall {
  layer: Module;
  sampler: GradSampler;
  /** Aligned with `sampler.parameters(layer)`: which of them are being trained. */
  trainable: boolean[];
  input: Tensor;
  backprop: Tensor;
  /** How many times the forward called this layer (≥ 1; > 1 when a layer is reused). */
  callsOfLayer: number;
}

/** Sums a loss into the objective whose gradient, per example, is that example's own loss gradient. */
export function perExampleObjective(loss: Tensor, B: number, reduction: 'mean' | 'sum'): { objective: Tensor; mean: Tensor } {
  if (loss.rank === 0) {
    const objective = reduction === 'mean' ? tf.mul(loss, B) : loss;
    return { objective, mean: reduction === 'mean' ? loss : tf.div(loss, B) };
  }
  if (loss.rank !== 1 || loss.shape[0] !== B) throw new ShapeError(`per-example gradients: the loss must be a scalar or per-example losses of shape [${B}], got shape [${loss.shape.join(', ')}]`);
  return { objective: tf.sum(loss), mean: tf.mean(loss) };
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'dataId' in x;
}

type Forward = (...args: unknown[]) => unknown;

/** Replaces layers' `forward` for the duration of `run` (tfjs has no module hooks), then restores them. */
function withForwards<T>(layers: Module[], wrap: (layer: Module, original: Forward) => Forward, run: () => T): T {
  const saved = layers.map((l) => ({ l, own: Object.prototype.hasOwnProperty.call(l, 'forward'), f: l.forward as Forward }));
  try {
    for (const { l, f } of saved) (l as { forward: Forward }).forward = wrap(l, f);
    return run();
  } finally {
    for (const { l, own, f } of saved) {
      if (own) (l as { forward: Forward }).forward = f;
      else delete (l as { forward?: Forward }).forward;
    }
  }
}

/**
 * Whether the traced layer calls account for the whole gradient of (model, loss): false when a
 * parameter is also used outside its layer's forward (tied weights used in a raw matmul, a weight
 * penalty inside the loss, forwardWithWeight). Checked once per model and loss function.
 */
const verified = new WeakMap<Module, WeakMap<object, boolean>>();

/**
 * One forward/backward pass that records, for every call of a covered layer, its input and the
 * per-example backprops at its output — through zero "probe" tensors added to the outputs, since the
 * gradient with respect to a probe is each example's own backprop (Opacus' hooks, done without
 * hooks). A first forward without gradients records the calls' shapes. Returns null when a layer call
 * is not batch-major, the calls differ between the passes, or (checked the first time for this model
 * and loss) the traced calls do not account for the full gradient. The caller disposes the calls'
 * tensors.
 */
export function traceLayers<B>(model: Module, loss: TraceLoss<B>, batch: B, B: number, reduction: 'mean' | 'sum', cover: CoveredLayer[], params: Variable[]): { calls: LayerCall[]; loss: number } | null {
  const known = verified.get(model)?.get(loss);
  if (known === false) return null;
  const layers = cover.map((c) => c.layer);
  const byLayer = new Map(cover.map((c) => [c.layer, c]));

  // Pass 1: the shape of every call.
  const shapes: { layer: Module; input: number[]; output: number[] }[] = [];
  let ok = true;
  withForwards(layers, (layer, f) => (...args: unknown[]) => {
    const y = f.apply(layer, args);
    if (isTensor(args[0]) && isTensor(y)) shapes.push({ layer, input: args[0].shape, output: y.shape });
    else ok = false;
    return y;
  }, () => tf.tidy(() => { loss(model, batch); }));
  if (!ok || shapes.length === 0 || shapes.some((s) => !byLayer.get(s.layer)!.sampler.accepts(s.layer, s.input, s.output, B))) return null;

  // Pass 2: zero probes on every call's output; d objective / d probe = per-example backprops.
  const probes = shapes.map((s) => tf.zeros(s.output));
  const inputs: Tensor[] = [];
  const check = known === undefined;
  let callIndex = 0;
  let out: { mean: Tensor; grads: (Tensor | null)[] };
  try {
    out = withForwards(layers, (layer, f) => (...args: unknown[]) => {
      const k = callIndex++;
      const y = f.apply(layer, args) as Tensor;
      const s = shapes[k];
      if (!s || s.layer !== layer || !y.shape.every((d, i) => d === s.output[i])) {
        ok = false;
        return y;
      }
      inputs.push(tf.keep(tf.clone(args[0] as Tensor)));
      return tf.add(y, probes[k]!);
    }, () => {
      let mean: Tensor | undefined;
      let grads: (Tensor | null)[] = [];
      tf.tidy(() => {
        // allowNoGradients: parameters of unused layers (checked below) have no path to the loss.
        const r = tf.engine().gradients(() => {
          const o = perExampleObjective(loss(model, batch), B, reduction);
          mean = tf.keep(tf.clone(o.mean));
          return o.objective;
        }, check ? [...probes, ...params] : probes, undefined, true);
        grads = r.grads.map((g) => (g ? tf.keep(g) : null));
      });
      return { mean: mean!, grads };
    });
  } catch (e) {
    tf.dispose(inputs);
    throw e;
  } finally {
    tf.dispose(probes);
  }
  const lossValue = out.mean.dataSync()[0]!;
  out.mean.dispose();
  const probeGrads = out.grads.slice(0, shapes.length);
  const fullGrads = out.grads.slice(shapes.length);
  if (!ok || callIndex !== shapes.length || probeGrads.some((g) => g === null)) {
    tf.dispose([...inputs, ...out.grads.filter((g): g is Tensor => g !== null)]);
    return null;
  }
  const counts = new Map<Module, number>();
  for (const s of shapes) counts.set(s.layer, (counts.get(s.layer) ?? 0) + 1);
  const calls: LayerCall[] = shapes.map((s, k) => {
    const c = byLayer.get(s.layer)!;
    return { layer: s.layer, sampler: c.sampler, trainable: c.trainable, input: inputs[k]!, backprop: probeGrads[k]!, callsOfLayer: counts.get(s.layer)! };
  });
  if (check) {
    const good = accountsForGradient(calls, params, fullGrads, B);
    tf.dispose(fullGrads.filter((g): g is Tensor => g !== null));
    let m = verified.get(model);
    if (!m) verified.set(model, (m = new WeakMap()));
    m.set(loss, good);
    if (!good) {
      tf.dispose(calls.flatMap((c) => [c.input, c.backprop]));
      return null;
    }
  }
  return { calls, loss: lossValue };
}

/** Σ_b of the per-example gradients from the calls equals the full gradient (relative 1e-3). */
function accountsForGradient(calls: LayerCall[], params: Variable[], full: (Tensor | null)[], B: number): boolean {
  return tf.tidy(() => {
    const sums = new Map<Variable, Tensor[]>();
    const ones = tf.ones([B]);
    for (const c of calls) {
      const ps = c.sampler.parameters(c.layer);
      const gs = c.sampler.weightedSum ? c.sampler.weightedSum(c.layer, c.input, c.backprop, ones) : c.sampler.perSample(c.layer, c.input, c.backprop, B).map((g) => tf.sum(g, 0));
      ps.forEach((p, i) => sums.set(p, [...(sums.get(p) ?? []), gs[i]!]));
    }
    return params.every((p, i) => {
      const s = sums.get(p);
      const f = full[i] ?? tf.zerosLike(p);
      const mine = s ? tf.addN(s) : tf.zerosLike(p);
      const diff = tf.norm(tf.sub(mine, f)).dataSync()[0]!;
      const ref = tf.norm(f).dataSync()[0]!;
      return diff <= 1e-3 * ref + 1e-6;
    });
  });
}
