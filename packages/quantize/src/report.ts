import { InvalidArgumentError, tf } from '@nutshell/core';
import { Conv2d, Embedding, Linear, Module } from '@nutshell/nn';
import { PackedWeightModule, isQuantizedModule } from './model/modules.js';
import { isFanInFanOutLayer } from './model/fan-in-fan-out.js';

export interface LayerSize {
  name: string;
  /** 'float32' or the packed scheme. */
  format: string;
  params: number;
  /** Stored bytes: packed codes + scales for quantized layers, 4 per parameter for float ones. */
  bytes: number;
  bitsPerParam: number;
  /** Dequantized float32 copy the layer holds now for speed (WeightCacheMode); not part of `bytes`. */
  cacheBytes: number;
}

export interface SizeReport {
  layers: LayerSize[];
  /** Weights of Linear / Conv2d / Embedding / fan-in-fan-out (Conv1D) layers (float or packed), exact bytes. */
  weightBytes: number;
  /** Those weights' bytes in float32. */
  fp32WeightBytes: number;
  weightRatio: number;
  weightBitsPerParam: number;
  /** Everything stored: weights plus every other parameter and buffer (float32 bytes). */
  totalBytes: number;
  params: number;
  /** Dequantized weight caches held now (0 when every quantized layer computes on the fly). */
  cacheBytes: number;
  /** What the model occupies in memory now: `totalBytes + cacheBytes`. */
  residentBytes: number;
}

/**
 * Exact bytes of a model: what is stored (quantized layers count their packed codes and scales) and,
 * separately, the dequantized weight caches held in memory right now (`cacheBytes`, `residentBytes`).
 */
export function sizeReport(model: Module): SizeReport {
  if (!(model instanceof Module)) throw new InvalidArgumentError('sizeReport: expected an nn Module');
  const layers: LayerSize[] = [];
  let weightBytes = 0;
  let fp32 = 0;
  let weightParams = 0;
  for (const [name, m] of model.namedModules()) {
    let params = 0;
    let bytes = 0;
    let format = '';
    const cacheBytes = m instanceof PackedWeightModule ? m.cacheBytes : 0;
    if (isQuantizedModule(m)) {
      params = m.packedWeight.size;
      bytes = m.packedWeight.storageBytes();
      format = m.packedWeight.scheme;
    } else if (m instanceof Linear || m instanceof Conv2d || m instanceof Embedding || isFanInFanOutLayer(m)) {
      params = m.weight.size;
      bytes = 4 * params;
      format = 'float32';
    } else continue;
    layers.push({ name, format, params, bytes, bitsPerParam: (8 * bytes) / params, cacheBytes });
    weightBytes += bytes;
    fp32 += 4 * params;
    weightParams += params;
  }
  let otherBytes = 0;
  let otherParams = 0;
  for (const [, v] of [...model.namedParameters(), ...model.namedBuffers({ persistentOnly: true })]) {
    otherBytes += v.size * (v.dtype === 'bool' ? 1 : 4);
    otherParams += v.size;
  }
  // Float layer weights are among the parameters: count them once.
  const floatWeightBytes = layers.filter((l) => l.format === 'float32').reduce((a, l) => a + l.bytes, 0);
  const floatWeightParams = layers.filter((l) => l.format === 'float32').reduce((a, l) => a + l.params, 0);
  const cacheBytes = layers.reduce((a, l) => a + l.cacheBytes, 0);
  const totalBytes = weightBytes + otherBytes - floatWeightBytes;
  return {
    layers,
    weightBytes,
    fp32WeightBytes: fp32,
    weightRatio: fp32 ? weightBytes / fp32 : 1,
    weightBitsPerParam: weightParams ? (8 * weightBytes) / weightParams : 0,
    totalBytes,
    params: weightParams + otherParams - floatWeightParams,
    cacheBytes,
    residentBytes: totalBytes + cacheBytes,
  };
}

export interface TensorError {
  mse: number;
  /** Signal-to-quantization-noise ratio, 10·log10(Σx² / Σ(x − x̂)²), in dB (Infinity when exact). */
  sqnr: number;
  cosine: number;
  maxAbs: number;
}

/** Error of an approximation `b` of `a` (same length). */
export function tensorError(a: ArrayLike<number>, b: ArrayLike<number>): TensorError {
  if (a.length !== b.length) throw new InvalidArgumentError(`tensorError: lengths differ (${a.length} vs ${b.length})`);
  let se = 0, pa = 0, pb = 0, dot = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!, d = x - y;
    se += d * d;
    pa += x * x;
    pb += y * y;
    dot += x * y;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return {
    mse: a.length ? se / a.length : 0,
    sqnr: se === 0 ? Infinity : 10 * Math.log10(pa / se),
    cosine: pa && pb ? dot / Math.sqrt(pa * pb) : pa === pb ? 1 : 0,
    maxAbs,
  };
}

/** Per quantized layer: the weight error against the same path of the original float model. */
export function layerErrors(original: Module, quantized: Module): (TensorError & { name: string; format: string })[] {
  const out: (TensorError & { name: string; format: string })[] = [];
  for (const [name, m] of quantized.namedModules()) {
    if (!isQuantizedModule(m)) continue;
    let ref: Module;
    try {
      ref = original.getModule(name);
    } catch {
      continue;
    }
    const w = (ref as Linear).weight;
    if (!w || w.size !== m.packedWeight.size) continue;
    // A Conv1D's float weight is [in, out]; the packed one is [out, in].
    const ref32 = isFanInFanOutLayer(ref) ? tf.tidy(() => tf.transpose(w).dataSync() as Float32Array) : w.dataSync();
    out.push({ name, format: m.packedWeight.scheme, ...tensorError(ref32, m.packedWeight.dequantizeRange()) });
  }
  return out;
}

export interface CompareResult<M> {
  original: M;
  quantized: M;
  /** quantized − original, for a numeric metric (or each numeric field of an object metric). */
  delta: M extends number ? number : Record<string, number>;
  size: { original: SizeReport; quantized: SizeReport };
  layers: ReturnType<typeof layerErrors>;
}

/**
 * Evaluates both models with the task's own metric (accuracy, perplexity, FID…) and reports the
 * change, the exact sizes and the per-layer weight errors in one call.
 */
export async function compare<M extends number | Record<string, number>>(original: Module, quantized: Module, evalFn: (model: Module) => M | Promise<M>): Promise<CompareResult<M>> {
  if (typeof evalFn !== 'function') throw new InvalidArgumentError('compare: evalFn must be a function (model) => metric');
  const a = await evalFn(original);
  const b = await evalFn(quantized);
  let delta: number | Record<string, number>;
  if (typeof a === 'number' && typeof b === 'number') delta = b - a;
  else {
    delta = {};
    for (const [k, v] of Object.entries(a as Record<string, number>)) {
      const w = (b as Record<string, number>)[k];
      if (typeof v === 'number' && typeof w === 'number') delta[k] = w - v;
    }
  }
  return { original: a, quantized: b, delta: delta as CompareResult<M>['delta'], size: { original: sizeReport(original), quantized: sizeReport(quantized) }, layers: layerErrors(original, quantized) };
}
