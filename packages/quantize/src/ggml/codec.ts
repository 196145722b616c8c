import { InvalidArgumentError, fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '@nutshell/core';
import { assertFinite } from '../input.js';
import { dequantizeQ4_0, quantizeQ4_0 } from './q4_0.js';
import { dequantizeQ4_1, quantizeQ4_1 } from './q4_1.js';
import { dequantizeQ4_K, quantizeQ4_K } from './q4_k.js';
import { dequantizeQ5_0, quantizeQ5_0 } from './q5_0.js';
import { dequantizeQ6_K, quantizeQ6_K } from './q6_k.js';
import { dequantizeQ8_0, quantizeQ8_0 } from './q8_0.js';
import { ggmlRowSize, ggmlTypeInfo, type GgmlType } from './types.js';

type Codec = { quantize(x: Float32Array, out: Uint8Array): void; dequantize(bytes: Uint8Array, out: Float32Array): void };

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const CODECS: Partial<Record<GgmlType, Codec>> = {
  F32: {
    quantize: (x, out) => x.forEach((v, i) => view(out).setFloat32(4 * i, v, true)),
    dequantize: (b, out) => out.forEach((_, i) => (out[i] = view(b).getFloat32(4 * i, true))),
  },
  F16: {
    quantize: (x, out) => x.forEach((v, i) => view(out).setUint16(2 * i, toFloat16Bits(v), true)),
    dequantize: (b, out) => out.forEach((_, i) => (out[i] = fromFloat16Bits(b[2 * i]! | (b[2 * i + 1]! << 8)))),
  },
  BF16: {
    quantize: (x, out) => x.forEach((v, i) => view(out).setUint16(2 * i, toBFloat16Bits(v), true)),
    dequantize: (b, out) => out.forEach((_, i) => (out[i] = fromBFloat16Bits(b[2 * i]! | (b[2 * i + 1]! << 8)))),
  },
  Q8_0: { quantize: quantizeQ8_0, dequantize: dequantizeQ8_0 },
  Q4_0: { quantize: quantizeQ4_0, dequantize: dequantizeQ4_0 },
  Q4_1: { quantize: quantizeQ4_1, dequantize: dequantizeQ4_1 },
  Q5_0: { quantize: quantizeQ5_0, dequantize: dequantizeQ5_0 },
  Q4_K: { quantize: quantizeQ4_K, dequantize: dequantizeQ4_K },
  Q6_K: { quantize: quantizeQ6_K, dequantize: dequantizeQ6_K },
};

/** The ggml types this package can write and read values of. */
export const GGML_CODEC_TYPES = Object.keys(CODECS) as GgmlType[];

function codec(type: GgmlType): Codec {
  ggmlTypeInfo(type);
  const c = CODECS[type];
  if (!c) throw new InvalidArgumentError(`ggml type ${type} has no quantizer/dequantizer here; supported: ${GGML_CODEC_TYPES.join(', ')}`);
  return c;
}

/**
 * Quantizes values (a multiple of the type's block size) into ggml's block bytes, byte for byte as
 * ggml's reference quantizers (quantize_row_*_ref) compute them with strict float32 arithmetic.
 */
export function quantizeGgml(type: GgmlType, values: Float32Array | readonly number[]): Uint8Array {
  const c = codec(type);
  const x = values instanceof Float32Array ? values : Float32Array.from(values);
  if (type !== 'F32' && type !== 'F16' && type !== 'BF16') assertFinite(x, `quantizeGgml(${type})`);
  const out = new Uint8Array(ggmlRowSize(type, x.length));
  c.quantize(x, out);
  return out;
}

/** Decodes `count` values from ggml block bytes (dequantize_row_*). */
export function dequantizeGgml(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const c = codec(type);
  const need = ggmlRowSize(type, count);
  if (bytes.length < need) throw new InvalidArgumentError(`dequantizeGgml(${type}): ${count} values need ${need} bytes, got ${bytes.length}`);
  const out = new Float32Array(count);
  c.dequantize(bytes, out);
  return out;
}

/** Bits per value of a ggml type, scales included (Q4_0: 4.5, Q4_K: 4.5, Q6_K: 6.5625, Q8_0: 8.5). */
export function ggmlBitsPerValue(type: GgmlType): number {
  const t = ggmlTypeInfo(type);
  return (8 * t.typeSize) / t.blockSize;
}
