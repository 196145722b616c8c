import { InvalidArgumentError } from '@nutshell/core';
import { DYNAMIC_MAP_HEX } from './dynamic-map-table.js';
import { f32 } from './float32.js';

let dynamicMap: Float32Array | undefined;

/**
 * bitsandbytes' signed 8-bit "dynamic" code (create_dynamic_map(signed=True, max_exponent_bits=7,
 * total_bits=8)): for exponents 10^-6 … 10^0, 2^i evenly spaced fractions (midpoints of
 * linspace(0.1, 1, 2^i + 1)) with both signs, plus 0 and 1, sorted: 256 float32 values in [−0.993, 1].
 * Used for the 8-bit double quantization of NF4/FP4 block scales. The values come from
 * fixtures/generate.py (torch's linspace rounding depends on its SIMD width, so they are data here).
 */
export function bnbDynamicMap(): Float32Array {
  if (dynamicMap) return dynamicMap;
  const bits = new Uint32Array(256);
  for (let i = 0; i < 256; i++) bits[i] = Number.parseInt(DYNAMIC_MAP_HEX.slice(8 * i, 8 * i + 8), 16);
  dynamicMap = new Float32Array(bits.buffer);
  return dynamicMap;
}

/**
 * Index of the code value nearest to `x` in a sorted code; distances are float32 |x − code| as in
 * bitsandbytes' torch backend (argmin), so ties go to the lower index.
 */
export function nearestCodeIndex(code: Float32Array, x: number): number {
  let lo = 0;
  let hi = code.length - 1;
  if (x <= code[0]!) return 0;
  if (x >= code[hi]!) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (code[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const dLo = f32(Math.abs(f32(x - code[lo]!)));
  const dHi = f32(Math.abs(f32(x - code[hi]!)));
  return dHi < dLo ? hi : lo;
}

export interface Blockwise8 {
  /** One code index per value. */
  q: Uint8Array;
  /** max |x| of each block. */
  absmax: Float32Array;
  blockSize: number;
}

/**
 * bitsandbytes quantize_blockwise: per block of `blockSize`, absmax = max |x|, each value becomes the
 * index of the nearest code value to clamp(x · (1/absmax), −1, 1). The last block may be partial.
 */
export function quantizeBlockwise8(values: Float32Array, blockSize: number, code: Float32Array = bnbDynamicMap()): Blockwise8 {
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new InvalidArgumentError(`blockSize must be a positive integer, got ${blockSize}`);
  const blocks = Math.ceil(values.length / blockSize);
  const absmax = new Float32Array(blocks);
  const q = new Uint8Array(values.length);
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(values.length, (b + 1) * blockSize);
    let m = 0;
    for (let i = b * blockSize; i < end; i++) m = Math.max(m, Math.abs(values[i]!));
    absmax[b] = m;
    const inv = f32(1 / m);
    for (let i = b * blockSize; i < end; i++) {
      const s = f32(values[i]! * inv);
      // 0 · ∞ (an all-zero block) is NaN in torch; argmin over NaN distances picks index 0.
      q[i] = Number.isNaN(s) ? 0 : nearestCodeIndex(code, Math.min(1, Math.max(-1, s)));
    }
  }
  return { q, absmax, blockSize };
}

/** code[q] · absmax of the block, as float32. */
export function dequantizeBlockwise8(state: Blockwise8, code: Float32Array = bnbDynamicMap()): Float32Array {
  const out = new Float32Array(state.q.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(code[state.q[i]!]! * state.absmax[Math.floor(i / state.blockSize)]!);
  return out;
}
