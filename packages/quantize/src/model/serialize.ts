import { FormatError, InvalidArgumentError, parseSafetensors, tf, rawToTensor, rawTensor, saveSafetensors, tensor, type RawTensor, type Tensor } from '@nutshell/core';
import { Conv2d, Embedding, Linear, Module } from '@nutshell/nn';
import { PackedWeight, WEIGHT_SCHEMES, type PackedWeightInfo } from './packed-weight.js';
import { QuantizedConv2d, QuantizedEmbedding, QuantizedLinear, convGeometry, isQuantizedModule, type ActivationQuant } from './modules.js';
import type { LayerKind } from './recipe.js';
import { replaceModule } from './quantize-model.js';
import { isFanInFanOutLayer } from './fan-in-fan-out.js';

/** safetensors `__metadata__` key holding the quantization description (JSON). */
export const QUANT_METADATA_KEY = 'nutshell.quantization';
export const QUANT_FORMAT_VERSION = 1;

/** Per quantized tensor: how it was packed, and for modules the layer kind and activation mode. */
export interface QuantizedTensorEntry extends PackedWeightInfo {
  layer?: LayerKind;
  activation?: ActivationQuant['mode'];
  /**
   * The float layer stored its weight [in, out] (GPT-2 Conv1D). The packed codes and `shape` are
   * still [out, in], i.e. the transpose of the original `K`; dequantizeSafetensors transposes back.
   */
  fan_in_fan_out?: boolean;
}

export interface QuantizationMetadata {
  format_version: number;
  /** By the float tensor's key (e.g. `blocks.0.fc.weight`). */
  tensors: Record<string, QuantizedTensorEntry>;
}

/**
 * Stored keys of a packed tensor `K` (e.g. `fc.weight`):
 * - `K_packed` U8: the codes, as PackedWeight lays them out;
 * - `K_scale` F32 [groups]: affine scales, or the NF4/FP4 absmax per block without double quantization;
 * - `K_zero_point` U8 [groups]: asymmetric affine only;
 * - `K_absmax_q` U8 [blocks], `K_absmax2` F32 [blocks/256], `K_absmax_offset` F32 [1]: double-quantized
 *   NF4/FP4 scales (bitsandbytes' nested state).
 */
export const packedKeys = (key: string) => ({
  packed: `${key}_packed`, scale: `${key}_scale`, zeroPoint: `${key}_zero_point`,
  absmaxQ: `${key}_absmax_q`, absmax2: `${key}_absmax2`, offset: `${key}_absmax_offset`,
});

/** The raw tensors storing one packed weight under key `key`. */
export function packedWeightToRaw(key: string, w: PackedWeight): Record<string, RawTensor> {
  const k = packedKeys(key);
  const out: Record<string, RawTensor> = { [k.packed]: { dtype: 'U8', shape: [w.packed.length], data: w.packed } };
  if (w.scale) out[k.scale] = rawTensor('F32', [w.scale.length], w.scale);
  if (w.zeroPoint) out[k.zeroPoint] = rawTensor('U8', [w.zeroPoint.length], w.zeroPoint);
  if (w.nested) {
    out[k.absmaxQ] = { dtype: 'U8', shape: [w.nested.qabsmax.length], data: w.nested.qabsmax };
    out[k.absmax2] = rawTensor('F32', [w.nested.absmax2.length], w.nested.absmax2);
    out[k.offset] = rawTensor('F32', [1], [w.nested.offset]);
  }
  return out;
}

function take(raw: Record<string, RawTensor>, key: string, dtype: 'U8' | 'F32', used: Set<string>): RawTensor | undefined {
  const t = raw[key];
  if (!t) return undefined;
  if (t.dtype !== dtype) throw new FormatError('quantized safetensors', `'${key}' must be ${dtype}, got ${t.dtype}`);
  used.add(key);
  return t;
}
const f32Of = (t: RawTensor) => new Float32Array(t.data.slice().buffer);

function checkEntry(key: string, e: unknown): QuantizedTensorEntry {
  const x = e as QuantizedTensorEntry;
  const bad = (why: string) => new FormatError('quantized safetensors', `metadata entry '${key}': ${why}`);
  if (!x || typeof x !== 'object') throw bad('not an object');
  if (!WEIGHT_SCHEMES.includes(x.scheme)) throw bad(`unknown scheme ${JSON.stringify(x.scheme)}`);
  if (!Array.isArray(x.shape) || x.shape.length === 0 || x.shape.some((d) => !Number.isInteger(d) || d < 1)) throw bad('bad shape');
  if (!Number.isInteger(x.groupSize) || x.groupSize < 1) throw bad('bad groupSize');
  if (typeof x.symmetric !== 'boolean' || typeof x.doubleQuant !== 'boolean') throw bad('symmetric and doubleQuant must be booleans');
  if (x.fan_in_fan_out !== undefined && (typeof x.fan_in_fan_out !== 'boolean' || x.shape.length !== 2)) throw bad('fan_in_fan_out must be a boolean on a 2-D weight');
  return x;
}

/** Rebuilds the packed weight stored under `key`; marks the keys it used. */
export function packedWeightFromRaw(key: string, entry: QuantizedTensorEntry, raw: Record<string, RawTensor>, used = new Set<string>()): PackedWeight {
  const k = packedKeys(key);
  const packed = take(raw, k.packed, 'U8', used);
  if (!packed) throw new FormatError('quantized safetensors', `missing '${k.packed}'`);
  const scale = take(raw, k.scale, 'F32', used);
  const zp = take(raw, k.zeroPoint, 'U8', used);
  const q = take(raw, k.absmaxQ, 'U8', used);
  const a2 = take(raw, k.absmax2, 'F32', used);
  const off = take(raw, k.offset, 'F32', used);
  const info: PackedWeightInfo = { scheme: entry.scheme, shape: entry.shape, groupSize: entry.groupSize, symmetric: entry.symmetric, doubleQuant: entry.doubleQuant };
  const nested = entry.doubleQuant
    ? (() => {
        if (!q || !a2 || !off || off.shape.length !== 1 || off.shape[0] !== 1) throw new FormatError('quantized safetensors', `'${key}': double-quantized scales are incomplete`);
        const bs = entry.doubleQuantBlockSize ?? 256;
        if (!Number.isInteger(bs) || bs < 1) throw new FormatError('quantized safetensors', `'${key}': bad doubleQuantBlockSize`);
        info.doubleQuantBlockSize = bs;
        return { qabsmax: q.data.slice(), absmax2: f32Of(a2), offset: f32Of(off)[0]!, blockSize: bs };
      })()
    : null;
  try {
    return PackedWeight.fromParts(info, { packed: packed.data.slice(), scale: scale ? f32Of(scale) : null, zeroPoint: zp ? Int32Array.from(zp.data) : null, nested });
  } catch (e) {
    throw new FormatError('quantized safetensors', `'${key}': ${(e as Error).message}`);
  }
}

/** Metadata of a quantized safetensors file, or null when it holds no quantization entry. */
export function readQuantizationMetadata(metadata: Record<string, string> | undefined): QuantizationMetadata | null {
  const text = metadata?.[QUANT_METADATA_KEY];
  if (text === undefined) return null;
  let m: QuantizationMetadata;
  try {
    m = JSON.parse(text) as QuantizationMetadata;
  } catch {
    throw new FormatError('quantized safetensors', `metadata '${QUANT_METADATA_KEY}' is not JSON`);
  }
  if (!m || typeof m !== 'object' || m.format_version !== QUANT_FORMAT_VERSION || !m.tensors || typeof m.tensors !== 'object') {
    throw new FormatError('quantized safetensors', `metadata '${QUANT_METADATA_KEY}' must be { format_version: ${QUANT_FORMAT_VERSION}, tensors: {…} }`);
  }
  for (const [k, e] of Object.entries(m.tensors)) checkEntry(k, e);
  return m;
}

/**
 * A model's state as safetensors bytes: float parameters and buffers under their usual names, and
 * each quantized layer at path P as `P.weight_packed`, `P.weight_scale`, … (see `packedKeys`), plus
 * static activation qparams `P.input_scale` (F32 [1]) and `P.input_zero_point` (U8 [1]). The
 * `nutshell.quantization` metadata entry describes every packed tensor.
 *
 * Fan-in-fan-out layers (GPT-2 Conv1D, float weight `P.weight` [in, out]) keep the same key names,
 * but `P.weight_packed` / `P.weight_scale` / … pack the TRANSPOSED weight [out, in] (scales per
 * output row / per block of a row); their entry says `fan_in_fan_out: true` and `shape: [out, in]`.
 */
export function saveQuantizedModel(model: Module, metadata: Record<string, string> = {}): Uint8Array {
  const tensors: Record<string, Tensor | RawTensor> = { ...model.stateDict() };
  const meta: QuantizationMetadata = { format_version: QUANT_FORMAT_VERSION, tensors: {} };
  for (const [path, m] of model.namedModules()) {
    if (!isQuantizedModule(m)) continue;
    const key = path ? `${path}.weight` : 'weight';
    Object.assign(tensors, packedWeightToRaw(key, m.packedWeight));
    const kind: LayerKind = m instanceof QuantizedLinear ? 'linear' : m instanceof QuantizedConv2d ? 'conv2d' : 'embedding';
    meta.tensors[key] = { ...m.packedWeight.info, layer: kind, activation: m.activation.mode };
    if (m instanceof QuantizedLinear && m.fromFanInFanOut) meta.tensors[key]!.fan_in_fan_out = true;
    if (m.activation.mode === 'static') {
      tensors[`${path}.input_scale`] = rawTensor('F32', [1], [m.activation.scale]);
      tensors[`${path}.input_zero_point`] = rawTensor('U8', [1], [m.activation.zeroPoint]);
    }
  }
  return saveSafetensors(tensors, { metadata: { format: 'pt', ...metadata, [QUANT_METADATA_KEY]: JSON.stringify(meta) } });
}

/**
 * Loads bytes written by `saveQuantizedModel` into a float model of the same architecture: every
 * layer listed in the metadata is replaced by its quantized form (the float layer is disposed), then
 * the remaining tensors load strictly. Throws FormatError for malformed files.
 */
export function loadQuantizedModel(model: Module, bytes: Uint8Array): { replaced: string[]; metadata: Record<string, string> | undefined } {
  const { tensors: raw, metadata } = parseSafetensors(bytes);
  const meta = readQuantizationMetadata(metadata);
  const used = new Set<string>();
  const swaps: [string, Module][] = [];
  for (const [key, entry] of Object.entries(meta?.tensors ?? {})) {
    if (!key.endsWith('.weight')) throw new FormatError('quantized safetensors', `'${key}': module weights must end in '.weight'`);
    const path = key.slice(0, -'.weight'.length);
    let m: Module;
    try {
      m = model.getModule(path);
    } catch {
      throw new FormatError('quantized safetensors', `the model has no layer '${path}'`);
    }
    const w = packedWeightFromRaw(key, entry, raw, used);
    const bias = raw[`${path}.bias`];
    const biasT = bias ? rawToTensor(bias, `${path}.bias`) : null;
    try {
      let activation: ActivationQuant = { mode: entry.activation === 'dynamic' ? 'dynamic' : 'none' };
      if (entry.activation === 'static') {
        const s = take(raw, `${path}.input_scale`, 'F32', used);
        const z = take(raw, `${path}.input_zero_point`, 'U8', used);
        if (!s || !z) throw new FormatError('quantized safetensors', `'${path}': static activation qparams are missing`);
        activation = { mode: 'static', scale: f32Of(s)[0]!, zeroPoint: z.data[0]! };
      }
      const fifo = isFanInFanOutLayer(m) ? m : null;
      // A fan-in-fan-out layer holds [in, out]; the packed weight is its transpose.
      const want = fifo ? [...fifo.weight.shape].reverse() : (m as Linear).weight?.shape;
      if (!want || want.length !== w.shape.length || want.some((d, i) => d !== w.shape[i])) {
        throw new FormatError('quantized safetensors', `'${key}' has shape [${w.shape.join(', ')}], the model's layer has [${want?.join(', ') ?? '?'}]`);
      }
      if (fifo) swaps.push([path, new QuantizedLinear(fifo.weight.shape[0]!, fifo.weight.shape[1]!, w, biasT, { activation, fromFanInFanOut: true })]);
      else if (m instanceof Linear) swaps.push([path, new QuantizedLinear(m.inFeatures, m.outFeatures, w, biasT, { activation })]);
      else if (m instanceof Conv2d) swaps.push([path, new QuantizedConv2d(convGeometry(m), w, biasT, { activation })]);
      else if (m instanceof Embedding) swaps.push([path, new QuantizedEmbedding(w, m.options.paddingIdx)]);
      else throw new FormatError('quantized safetensors', `'${path}' is a ${m.constructor.name}, not a Linear, Conv2d, Embedding or fan-in-fan-out (Conv1D) layer`);
    } finally {
      biasT?.dispose();
    }
  }
  for (const [path, q] of swaps) replaceModule(model, path, q).dispose();
  const rest: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(raw)) if (!used.has(k)) rest[k] = rawToTensor(t, k);
  try {
    model.loadStateDict(rest);
  } finally {
    for (const t of Object.values(rest)) t.dispose();
  }
  return { replaced: swaps.map(([p]) => p), metadata };
}

/**
 * Float32 tensors of any quantized safetensors file (ours or a plain one): packed tensors are
 * dequantized back to their original key and shape (fan-in-fan-out weights transposed back to
 * [in, out]); others are converted as stored. Caller disposes.
 */
export function dequantizeSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  const { tensors: raw, metadata } = parseSafetensors(bytes);
  const meta = readQuantizationMetadata(metadata);
  const used = new Set<string>();
  const out: Record<string, Tensor> = {};
  for (const [key, entry] of Object.entries(meta?.tensors ?? {})) {
    const w = packedWeightFromRaw(key, entry, raw, used);
    const t = tensor(w.dequantizeRange(), w.shape, 'float32');
    if (entry.fan_in_fan_out) {
      out[key] = tf.transpose(t);
      t.dispose();
    } else out[key] = t;
  }
  for (const [k, t] of Object.entries(raw)) if (!used.has(k) && !k.endsWith('.input_scale') && !k.endsWith('.input_zero_point')) out[k] = rawToTensor(t, k);
  return out;
}

export function assertBytes(bytes: unknown, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`${what}: expected a Uint8Array`);
}
