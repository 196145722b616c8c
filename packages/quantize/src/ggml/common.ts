import { fromFloat16Bits, toFloat16Bits } from '@nutshell/core';
import { f32 } from '../float32.js';

export { f32 };

/** GGML_FP32_TO_FP16 (round to nearest even) and back. */
export const fp16 = toFloat16Bits;
export const fromFp16 = fromFloat16Bits;

/** ggml's nearest_int: adds 1.5·2^23 in float32, i.e. rounds half to even (|x| ≤ 2^22). */
export function nearestInt(x: number): number {
  return f32(x + 12582912) - 12582912;
}

/** C's (int8_t) cast of a float: truncation toward zero. */
export const truncInt = Math.trunc;

/** GROUP_MAX_EPS of ggml-quants.c: below this a group counts as all zero. */
export const GROUP_MAX_EPS = f32(1e-15);

export function writeF16(out: Uint8Array, at: number, value: number): void {
  const bits = fp16(value);
  out[at] = bits & 0xff;
  out[at + 1] = bits >>> 8;
}

export function readF16(bytes: Uint8Array, at: number): number {
  return fromFp16(bytes[at]! | (bytes[at + 1]! << 8));
}

/** The value of largest magnitude (the first one on ties), as ggml's q4_0/q5_0/make_qx_quants pick it. */
export function signedAbsMax(x: Float32Array, from: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[from + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}
