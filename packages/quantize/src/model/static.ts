import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Module } from '@nutshell/nn';
import { EntropyObserver, MseObserver, PercentileObserver } from '../histogram-observers.js';
import { MinMaxObserver, type Observer } from '../observers.js';
import { quantizableLayers, quantizeLayer, replaceModule, type ReplacedLayer } from './quantize-model.js';
import { RecipeError, normalizeRecipe, specFor, unmatchedExactNames, type LayerQuantSpec, type RecipeInput } from './recipe.js';
import type { QuantizedLinear } from './modules.js';

export type ActivationObserverName = 'minmax' | 'percentile' | 'mse' | 'entropy';

export interface StaticQuantOptions {
  /** Activation observer (uint8, affine, per tensor): a name or a factory. Default 'minmax'. */
  observer?: ActivationObserverName | ((layer: string) => Observer);
  /** Calibration batches to use (default: all). */
  maxBatches?: number;
  /** How to run the model on a batch (default: model.forward(batch)); the result is disposed. */
  forward?: (model: Module, batch: unknown) => unknown;
}

function makeObserver(o: StaticQuantOptions['observer'], layer: string): Observer {
  if (typeof o === 'function') return o(layer);
  const scheme = { dtype: 'uint8' as const };
  switch (o ?? 'minmax') {
    case 'minmax': return new MinMaxObserver(scheme);
    case 'percentile': return new PercentileObserver(scheme);
    case 'mse': return new MseObserver(scheme);
    case 'entropy': return new EntropyObserver(scheme);
    default: throw new RecipeError(`observer must be minmax, percentile, mse, entropy or a factory, got ${JSON.stringify(o)}`);
  }
}

/** Runs the wrapped layer in float and shows its input to an observer (calibration only). */
export class ObservedLayer extends Module {
  constructor(readonly inner: Module, readonly observer: Observer) {
    super();
  }
  forward(x: Tensor): Tensor {
    this.observer.observe(x);
    return this.inner.forward(x);
  }
}

function disposeResult(out: unknown): void {
  if (out && typeof out === 'object') {
    if ('dispose' in out && typeof (out as Tensor).dispose === 'function') (out as Tensor).dispose();
    else for (const v of Object.values(out as Record<string, unknown>)) disposeResult(v);
  }
}

/**
 * Static post-training quantization: int8 (or the recipe's scheme) weights and uint8 activations
 * with scales fixed by calibration. Each selected Linear/Conv2d gets an activation observer on its
 * input; `data` (any iterable / async iterable of model inputs) runs through the float model; then
 * the layers are replaced by quantized ones with `activation: { mode: 'static', scale, zeroPoint }`.
 */
export async function quantizeStatic(model: Module, data: Iterable<unknown> | AsyncIterable<unknown>, recipe: RecipeInput = 'int8', options: StaticQuantOptions = {}): Promise<{ replaced: (ReplacedLayer & { inputScale: number; inputZeroPoint: number })[] }> {
  if (!(model instanceof Module)) throw new InvalidArgumentError('quantizeStatic: expected an nn Module');
  const r = normalizeRecipe(recipe);
  const layers = quantizableLayers(model).filter(([, , kind]) => kind !== 'embedding');
  const missing = unmatchedExactNames(r, layers.map(([n]) => n));
  if (missing.length) throw new RecipeError(`no Linear/Conv2d layer named ${missing.join(', ')}`);
  const chosen: [string, Module, LayerQuantSpec, ObservedLayer][] = [];
  for (const [name, m, kind] of layers) {
    const spec = specFor(r, name, kind);
    if (spec) chosen.push([name, m, spec, new ObservedLayer(m, makeObserver(options.observer, name))]);
  }
  if (chosen.length === 0) throw new RecipeError('the recipe selects no Linear or Conv2d layer');
  for (const [name, , , obs] of chosen) replaceModule(model, name, obs);
  const wasTraining = model.training;
  model.eval();
  let batches = 0;
  try {
    const max = options.maxBatches ?? Infinity;
    for await (const batch of data as AsyncIterable<unknown>) {
      const out = tf.tidy(() => {
        const o = options.forward ? options.forward(model, batch) : model.forward(batch as Tensor);
        return o as tf.TensorContainer;
      });
      disposeResult(out);
      if (++batches >= max) break;
    }
  } catch (e) {
    for (const [name, m] of chosen) replaceModule(model, name, m);
    model.train(wasTraining);
    throw e;
  }
  model.train(wasTraining);
  if (batches === 0) {
    for (const [name, m] of chosen) replaceModule(model, name, m);
    throw new InvalidArgumentError('quantizeStatic: the calibration data yielded no batches');
  }
  const replaced = [];
  for (const [name, m, spec, obs] of chosen) {
    const qp = obs.observer.qparams();
    const scale = qp.scale[0]!;
    const zeroPoint = qp.zeroPoint[0]!;
    const q = quantizeLayer(m, spec, { mode: 'static', scale, zeroPoint });
    replaceModule(model, name, q);
    const w = (m as unknown as { weight: Tensor }).weight;
    replaced.push({ name, kind: m.constructor.name === 'Conv2d' ? 'conv2d' as const : 'linear' as const, scheme: spec.scheme, params: w.size, bytesBefore: 4 * w.size, bytesAfter: (q as QuantizedLinear).packedWeight.storageBytes(), inputScale: scale, inputZeroPoint: zeroPoint });
    m.dispose();
  }
  return { replaced };
}
