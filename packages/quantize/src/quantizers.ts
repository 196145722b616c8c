import { dequantizeAffineValues, quantizeAffine, type AffineQuantized } from './affine.js';
import { dequantizeGgml, ggmlBitsPerValue, quantizeGgml } from './ggml/codec.js';
import type { GgmlType } from './ggml/types.js';
import { readInput, type TensorLike } from './input.js';
import { dequantize4bitValues, fourBitBitsPerParameter, quantize4bit, type FourBitQuantized } from './nf4.js';

/**
 * A named weight quantizer with one calling convention, so recipes (and later quantizeModel) can pick
 * schemes by name: quantize(values, shape) → opaque state; dequantize(state) → float32 values.
 */
export interface WeightQuantizer<S = unknown> {
  name: string;
  description: string;
  quantize(x: TensorLike, shape?: readonly number[]): S;
  dequantize(state: S): Float32Array;
  /** Storage bits per parameter of a state, scales included. */
  bitsPerParameter(state: S): number;
}

const affine = (name: string, description: string, options: Parameters<typeof quantizeAffine>[1]): WeightQuantizer<AffineQuantized> => ({
  name,
  description,
  quantize: (x, shape) => quantizeAffine(x, { ...options, shape }),
  dequantize: dequantizeAffineValues,
  bitsPerParameter: (q) => {
    const n = q.shape.reduce((a, b) => a * b, 1);
    return n ? (8 * (q.data.length + 4 * q.scale.length + (q.symmetric ? 0 : 4 * q.zeroPoint.length))) / n : 0;
  },
});

const fourBit = (name: string, description: string, options: Parameters<typeof quantize4bit>[1]): WeightQuantizer<FourBitQuantized> => ({
  name,
  description,
  quantize: (x, shape) => quantize4bit(x, { ...options, shape }),
  dequantize: dequantize4bitValues,
  bitsPerParameter: fourBitBitsPerParameter,
});

const ggml = (type: GgmlType): WeightQuantizer<{ type: GgmlType; shape: number[]; bytes: Uint8Array }> => ({
  name: type.toLowerCase(),
  description: `ggml ${type} blocks (rows flattened; the element count must be a multiple of the block size)`,
  quantize: (x, shape) => {
    const input = readInput(x, shape, type);
    return { type, shape: input.shape, bytes: quantizeGgml(type, input.values) };
  },
  dequantize: (s) => dequantizeGgml(s.type, s.bytes, s.shape.reduce((a, b) => a * b, 1)),
  bitsPerParameter: () => ggmlBitsPerValue(type),
});

export const QUANTIZERS: readonly WeightQuantizer<never>[] = [
  affine('int8', 'symmetric int8 per output channel (axis 0)', { dtype: 'int8', symmetric: true, granularity: { kind: 'channel', axis: 0 } }),
  affine('int4-g32', 'asymmetric uint4 in groups of 32 along the last axis', { dtype: 'uint4', granularity: { kind: 'group', size: 32 } }),
  fourBit('nf4', 'bitsandbytes NF4, blocks of 64, double-quantized scales', { quantType: 'nf4', doubleQuant: true }),
  fourBit('fp4', 'bitsandbytes FP4, blocks of 64, double-quantized scales', { quantType: 'fp4', doubleQuant: true }),
  ...(['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q4_K', 'Q6_K'] as const).map(ggml),
] as unknown as readonly WeightQuantizer<never>[];
