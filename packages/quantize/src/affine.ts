import { InvalidArgumentError, ShapeError, tensor, type Tensor } from '@nutshell/core';
import { quantRange, type QuantDType } from './dtypes.js';
import { f32, roundHalfEven } from './float32.js';
import { resolveGranularity, type Granularity, type ParamLayout } from './granularity.js';
import { assertFinite, readInput, type TensorLike } from './input.js';
import { packBits, unpackBits } from './packing.js';
import { computeQParams, type QScheme } from './qparams.js';

export interface AffineOptions extends QScheme {
  granularity?: Granularity;
  /** Shape of a flat (non-tensor) input; defaults to [length]. */
  shape?: readonly number[];
  /** Fixed scales (one per param group, or one number); computed from min/max when absent. */
  scale?: number | ArrayLike<number>;
  /** Fixed zero points, matching `scale`. */
  zeroPoint?: number | ArrayLike<number>;
}

/** A quantized tensor: packed integers plus one scale and zero point per param group. */
export interface AffineQuantized {
  format: 'affine';
  dtype: QuantDType;
  shape: number[];
  granularity: Granularity;
  symmetric: boolean;
  narrowRange: boolean;
  /** Shape of `scale`/`zeroPoint`: [] per tensor, [C] per channel, the input shape with the axis divided per group. */
  paramShape: number[];
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** Packed integers (packing.ts: LSB first; low nibble = first element for 4-bit types). */
  data: Uint8Array;
}

/**
 * Quantization of one value, exactly as PyTorch's quantize_per_tensor / quantize_per_channel:
 * q = clamp(zeroPoint + nearbyint(x · (1/scale)), qmin, qmax), with 1/scale and the product rounded to
 * float32 and nearbyint rounding ties to EVEN (2.5 → 2, 3.5 → 4).
 */
export function quantizeValue(x: number, invScale: number, zeroPoint: number, qmin: number, qmax: number): number {
  const q = zeroPoint + roundHalfEven(f32(x * invScale));
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

function paramArray(value: number | ArrayLike<number>, count: number, what: string): Float64Array {
  if (typeof value === 'number') return new Float64Array(count).fill(value);
  if (value.length !== count) throw new ShapeError(`${what}: expected ${count} values (one per param group), got ${value.length}`);
  return Float64Array.from(value);
}

function ranges(values: Float32Array, layout: ParamLayout): { min: Float64Array; max: Float64Array } {
  const min = new Float64Array(layout.paramCount).fill(Infinity);
  const max = new Float64Array(layout.paramCount).fill(-Infinity);
  for (let i = 0; i < values.length; i++) {
    const p = layout.index[i]!;
    const v = values[i]!;
    if (v < min[p]!) min[p] = v;
    if (v > max[p]!) max[p] = v;
  }
  for (let p = 0; p < layout.paramCount; p++) if (min[p] === Infinity) min[p] = max[p] = 0;
  return { min, max };
}

/** Quantizes `x` to `options.dtype` with min/max-derived (or given) scales and zero points. */
export function quantizeAffine(x: TensorLike, options: AffineOptions): AffineQuantized {
  const { values, shape } = readInput(x, options.shape, 'quantizeAffine');
  assertFinite(values, 'quantizeAffine');
  const { qmin, qmax } = quantRange(options.dtype, options.narrowRange);
  const layout = resolveGranularity(options.granularity, shape);
  const scale = new Float32Array(layout.paramCount);
  const zeroPoint = new Int32Array(layout.paramCount);
  if (options.scale !== undefined) {
    const s = paramArray(options.scale, layout.paramCount, 'quantizeAffine scale');
    const z = paramArray(options.zeroPoint ?? 0, layout.paramCount, 'quantizeAffine zeroPoint');
    for (let p = 0; p < layout.paramCount; p++) {
      if (!(s[p]! > 0) || !Number.isFinite(s[p]!)) throw new InvalidArgumentError(`quantizeAffine: scale must be positive and finite, got ${s[p]}`);
      if (!Number.isInteger(z[p]!) || z[p]! < qmin || z[p]! > qmax) throw new InvalidArgumentError(`quantizeAffine: zero point ${z[p]} is not an integer in [${qmin}, ${qmax}]`);
      scale[p] = s[p]!;
      zeroPoint[p] = z[p]!;
    }
  } else {
    if (options.zeroPoint !== undefined) throw new InvalidArgumentError('quantizeAffine: zeroPoint given without scale');
    const { min, max } = ranges(values, layout);
    for (let p = 0; p < layout.paramCount; p++) {
      const qp = computeQParams(min[p]!, max[p]!, options);
      scale[p] = qp.scale;
      zeroPoint[p] = qp.zeroPoint;
    }
  }
  const invScale = Float64Array.from(scale, (s) => f32(1 / s));
  const q = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const p = layout.index[i]!;
    q[i] = quantizeValue(values[i]!, invScale[p]!, zeroPoint[p]!, qmin, qmax);
  }
  return {
    format: 'affine',
    dtype: options.dtype,
    shape,
    granularity: layout.granularity,
    symmetric: Boolean(options.symmetric),
    narrowRange: Boolean(options.narrowRange),
    paramShape: layout.paramShape,
    scale,
    zeroPoint,
    data: packBits(q, options.dtype),
  };
}

/** The stored integers, unpacked. */
export function affineIntegers(q: AffineQuantized): Int32Array {
  return unpackBits(q.data, q.dtype, q.shape.reduce((a, b) => a * b, 1));
}

/** scale · (q − zeroPoint) per element, as float32 values. */
export function dequantizeAffineValues(q: AffineQuantized): Float32Array {
  const ints = affineIntegers(q);
  const layout = resolveGranularity(q.granularity, q.shape);
  const out = new Float32Array(ints.length);
  for (let i = 0; i < ints.length; i++) {
    const p = layout.index[i]!;
    out[i] = q.scale[p]! * (ints[i]! - q.zeroPoint[p]!);
  }
  return out;
}

/** Dequantizes to a float32 tensor of the original shape (the caller disposes it). */
export function dequantizeAffine(q: AffineQuantized): Tensor {
  return tensor(dequantizeAffineValues(q), q.shape, 'float32');
}

/** quantize → dequantize in one step ("fake quantization"), returning a new float32 tensor. */
export function fakeQuantize(x: TensorLike, options: AffineOptions): Tensor {
  return dequantizeAffine(quantizeAffine(x, options));
}

/** Bytes the quantized tensor needs: packed integers, float32 scales and (unless symmetric) int32 zero points. */
export function affineStorageBytes(q: AffineQuantized): number {
  return q.data.length + 4 * q.scale.length + (q.symmetric ? 0 : 4 * q.zeroPoint.length);
}
