import { InvalidArgumentError, tensor, type Tensor } from '@nutshell/core';
import { bnbDynamicMap, dequantizeBlockwise8, nearestCodeIndex, quantizeBlockwise8 } from './dynamic-map.js';
import { f32 } from './float32.js';
import { assertFinite, readInput, type TensorLike } from './input.js';

/**
 * NF4: the 16 NormalFloat levels of the QLoRA paper, as float32 constants from bitsandbytes
 * (quantiles of N(0, 1) normalised to [−1, 1], with an exact 0 at index 7).
 */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/**
 * bitsandbytes FP4 (get_4bit_type('fp4')): bit 3 is the sign, bits 0–2 index the magnitudes
 * [0, 0.0625, 8, 12, 4, 6, 2, 3] / 12 (an e2m1 float with bitsandbytes' own bias and subnormal).
 */
export const FP4_CODE: Float32Array = Float32Array.from([0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3], (v) => f32(v / 12));

export type FourBitType = 'nf4' | 'fp4';

export interface FourBitOptions {
  quantType?: FourBitType;
  /** Values per absmax block (bitsandbytes default 64). */
  blockSize?: number;
  /** Quantize the block scales again (QLoRA double quantization). Default false. */
  doubleQuant?: boolean;
  /** Block scales per second-level block (bitsandbytes uses 256). */
  doubleQuantBlockSize?: number;
  /** Shape of a flat input. */
  shape?: readonly number[];
}

/** The double-quantized block scales: 8-bit dynamic-code indices of (absmax − offset), blocks of 256. */
export interface NestedScales {
  /** One byte per first-level block. */
  qabsmax: Uint8Array;
  /** max |absmax − offset| per second-level block (float32). */
  absmax2: Float32Array;
  /** Mean of the first-level absmax values, subtracted before quantizing. */
  offset: number;
  blockSize: number;
}

export interface FourBitQuantized {
  format: 'bnb-4bit';
  quantType: FourBitType;
  shape: number[];
  blockSize: number;
  /** Two codes per byte, FIRST element in the HIGH nibble (bitsandbytes order); odd lengths padded. */
  packed: Uint8Array;
  /** float32 absmax per block, when not double-quantized. */
  absmax?: Float32Array;
  nested?: NestedScales;
}

function fp4Index(x: number): number {
  // bitsandbytes' dQuantizeFP4 decision tree: the sign bit, then the nearest magnitude (ties down).
  const sign = x < 0 ? 8 : 0;
  const a = Math.abs(x);
  let m: number;
  if (a > f32(0.29166667)) m = a > f32(0.583333) ? (a > f32(0.8333333) ? 3 : 2) : a > f32(0.4166667) ? 5 : 4;
  else m = a > f32(0.0859375) ? (a > f32(0.20833333) ? 7 : 6) : a > f32(0.00260417) ? 1 : 0;
  return sign | m;
}

/**
 * bitsandbytes quantize_4bit: blocks of `blockSize` (64) values, absmax per block, each value
 * x · (1/absmax) clamped to [−1, 1] mapped to the nearest NF4 level (ties to the lower index) or by
 * the FP4 tree, packed two per byte with the first value in the high nibble. With `doubleQuant`, the
 * absmax vector is centred by its mean and quantized block-wise (256) with the signed 8-bit dynamic
 * code, exactly as quantize_4bit(compress_statistics=True) does.
 */
export function quantize4bit(x: TensorLike, options: FourBitOptions = {}): FourBitQuantized {
  const quantType = options.quantType ?? 'nf4';
  if (quantType !== 'nf4' && quantType !== 'fp4') throw new InvalidArgumentError(`quantType must be nf4 or fp4, got ${JSON.stringify(quantType)}`);
  const blockSize = options.blockSize ?? 64;
  if (!Number.isInteger(blockSize) || blockSize < 2 || blockSize % 2 !== 0) throw new InvalidArgumentError(`blockSize must be an even integer ≥ 2, got ${blockSize}`);
  const { values, shape } = readInput(x, options.shape, 'quantize4bit');
  assertFinite(values, 'quantize4bit');
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const packed = new Uint8Array(Math.ceil(n / 2));
  const codeOf = quantType === 'nf4' ? (s: number) => nearestCodeIndex(NF4_CODE, s) : fp4Index;
  // Padding of an odd length: bitsandbytes pads the scaled values with 0.0 before packing.
  const pad = codeOf(0);
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(n, (b + 1) * blockSize);
    let m = 0;
    for (let i = b * blockSize; i < end; i++) m = Math.max(m, Math.abs(values[i]!));
    absmax[b] = m;
    const inv = f32(1 / m);
    for (let i = b * blockSize; i < end; i++) {
      const s = f32(values[i]! * inv);
      // An all-zero block scales 0 · ∞ = NaN; torch's argmin and the CUDA tree both give code 0.
      const c = Number.isNaN(s) ? 0 : codeOf(Math.min(1, Math.max(-1, s)));
      packed[i >> 1]! |= i % 2 === 0 ? c << 4 : c;
    }
  }
  if (n % 2 === 1) packed[n >> 1]! |= pad;
  const out: FourBitQuantized = { format: 'bnb-4bit', quantType, shape, blockSize, packed };
  if (!options.doubleQuant) {
    out.absmax = absmax;
    return out;
  }
  const blockSize2 = options.doubleQuantBlockSize ?? 256;
  // PyTorch sums float32 pairwise; the mean here is taken in double, then rounded to float32.
  let sum = 0;
  for (const v of absmax) sum += v;
  const offset = blocks ? f32(sum / blocks) : 0;
  const centered = Float32Array.from(absmax, (v) => f32(v - offset));
  const q2 = quantizeBlockwise8(centered, blockSize2);
  out.nested = { qabsmax: q2.q, absmax2: q2.absmax, offset, blockSize: blockSize2 };
  return out;
}

/** The per-block scales, restored from the nested form when double-quantized. */
export function blockScales(q: FourBitQuantized): Float32Array {
  if (q.absmax) return q.absmax;
  if (!q.nested) throw new InvalidArgumentError('4-bit state has neither absmax nor nested scales');
  const { qabsmax, absmax2, offset, blockSize } = q.nested;
  const restored = dequantizeBlockwise8({ q: qabsmax, absmax: absmax2, blockSize }, bnbDynamicMap());
  return Float32Array.from(restored, (v) => f32(v + offset));
}

/** code[nibble] · block scale, as float32 values. */
export function dequantize4bitValues(q: FourBitQuantized): Float32Array {
  const code = q.quantType === 'nf4' ? NF4_CODE : FP4_CODE;
  const scales = blockScales(q);
  const n = q.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = q.packed[i >> 1]!;
    const c = i % 2 === 0 ? byte >> 4 : byte & 15;
    out[i] = f32(code[c]! * scales[Math.floor(i / q.blockSize)]!);
  }
  return out;
}

export function dequantize4bit(q: FourBitQuantized): Tensor {
  return tensor(dequantize4bitValues(q), q.shape, 'float32');
}

/** Exact storage: packed codes, plus float32 absmax — or 8-bit codes, float32 absmax2 and the float32 offset. */
export function fourBitStorageBytes(q: FourBitQuantized): number {
  const scales = q.nested ? q.nested.qabsmax.length + 4 * q.nested.absmax2.length + 4 : 4 * (q.absmax?.length ?? 0);
  return q.packed.length + scales;
}

/**
 * Bits per parameter including every scale: 4 + 32/64 = 4.5 for plain NF4 with blocks of 64;
 * 4 + 8/64 + 32/(64·256) ≈ 4.127 with double quantization (plus the offset, negligible for big tensors).
 */
export function fourBitBitsPerParameter(q: FourBitQuantized): number {
  const n = q.shape.reduce((a, b) => a * b, 1);
  return n ? (8 * fourBitStorageBytes(q)) / n : 0;
}
