import { InvalidArgumentError, ShapeError, tensor, type Tensor } from '@nutshell/core';
import { quantizeAffine } from '../affine.js';
import type { QuantDType } from '../dtypes.js';
import { readInput, assertFinite, numel, type TensorLike } from '../input.js';
import { FP4_CODE, NF4_CODE, blockScales, quantize4bit, type FourBitQuantized, type NestedScales } from '../nf4.js';

/** Weight storage schemes of the quantized modules. */
export type WeightScheme = 'int8' | 'int4' | 'nf4' | 'fp4';
export const WEIGHT_SCHEMES: readonly WeightScheme[] = ['int8', 'int4', 'nf4', 'fp4'];

/** How one weight is quantized. */
export interface WeightQuantConfig {
  scheme: WeightScheme;
  /**
   * Values sharing one scale, consecutive in row-major order. int8: default one group per output
   * row (per-channel, axis 0); int4: default 32; nf4/fp4: the absmax block, default 64.
   */
  groupSize?: number;
  /** Affine schemes only: symmetric (zero point 0, default) or asymmetric (unsigned codes + zero points). */
  symmetric?: boolean;
  /** nf4/fp4: double-quantize the block scales (default true, as QLoRA). */
  doubleQuant?: boolean;
  /** Fixed scales (one per group) instead of min/max ones, e.g. learned by QAT. Affine, symmetric only. */
  scale?: ArrayLike<number>;
}

/** Plain description of a packed weight (what safetensors metadata records). */
export interface PackedWeightInfo {
  scheme: WeightScheme;
  shape: number[];
  groupSize: number;
  symmetric: boolean;
  doubleQuant: boolean;
  /** Second-level block of double quantization. */
  doubleQuantBlockSize?: number;
}

function affineDType(scheme: 'int8' | 'int4', symmetric: boolean): QuantDType {
  if (scheme === 'int8') return symmetric ? 'int8' : 'uint8';
  return symmetric ? 'int4' : 'uint4';
}

/** 256 entries × 2: the two code values of every byte (high nibble first), for fast NF4/FP4 decoding. */
function pairTable(code: Float32Array): Float32Array {
  const t = new Float32Array(512);
  for (let b = 0; b < 256; b++) {
    t[2 * b] = code[b >> 4]!;
    t[2 * b + 1] = code[b & 15]!;
  }
  return t;
}
const NF4_PAIRS = pairTable(NF4_CODE);
const FP4_PAIRS = pairTable(FP4_CODE);

/**
 * A weight kept packed in memory. Groups of `groupSize` consecutive (row-major) values share a scale:
 * - int8 / int4: affine codes from `quantizeAffine` (round half to even), packed LSB first (int4: the
 *   first value in the low nibble); symmetric → signed codes, asymmetric → unsigned codes + zero points;
 * - nf4 / fp4: bitsandbytes blocks (first value in the high nibble), absmax per block, optionally
 *   double-quantized.
 * `dequantize()` rebuilds float32 values on demand; nothing float-sized is kept here (the quantized
 * modules may keep a dequantized copy, see `WeightCacheMode`).
 */
export class PackedWeight {
  private constructor(
    readonly info: PackedWeightInfo,
    /** Packed codes. */
    readonly packed: Uint8Array,
    /** Affine: scale per group. nf4/fp4 without double quantization: absmax per block. */
    readonly scale: Float32Array | null,
    /** Asymmetric affine: zero point per group. */
    readonly zeroPoint: Int32Array | null,
    /** nf4/fp4 with double quantization. */
    readonly nested: NestedScales | null,
  ) {}

  private revision = 0;
  /** Bumped by `markModified()`; caches of the dequantized weight compare it to stay valid. */
  get version(): number {
    return this.revision;
  }
  /** Call after editing `packed` / `scale` / `zeroPoint` / `nested` in place: drops dequantized caches. */
  markModified(): void {
    this.revision++;
  }

  get scheme(): WeightScheme {
    return this.info.scheme;
  }
  get shape(): number[] {
    return this.info.shape;
  }
  get size(): number {
    return numel(this.info.shape);
  }

  /** Quantizes float values (a tensor, or flat values with `shape`). */
  static quantize(x: TensorLike, config: WeightQuantConfig, shape?: readonly number[]): PackedWeight {
    const { values, shape: s } = readInput(x, shape, 'PackedWeight.quantize');
    assertFinite(values, 'PackedWeight.quantize');
    const scheme = config.scheme;
    if (!WEIGHT_SCHEMES.includes(scheme)) throw new InvalidArgumentError(`weight scheme must be one of ${WEIGHT_SCHEMES.join(', ')}, got ${JSON.stringify(scheme)}`);
    const n = values.length;
    if (n === 0) throw new ShapeError('PackedWeight.quantize: cannot quantize an empty weight');
    const rowLen = s.length > 1 ? n / s[0]! : n;
    const defaultGroup = scheme === 'int8' ? rowLen : scheme === 'int4' ? 32 : 64;
    const groupSize = config.groupSize ?? defaultGroup;
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new InvalidArgumentError(`groupSize must be a positive integer, got ${groupSize}`);
    if (scheme === 'nf4' || scheme === 'fp4') {
      if (config.scale) throw new InvalidArgumentError(`${scheme}: fixed scales are not supported (absmax blocks)`);
      if (groupSize % 2) throw new InvalidArgumentError(`${scheme}: the block size must be even, got ${groupSize}`);
      const doubleQuant = config.doubleQuant ?? true;
      const q: FourBitQuantized = quantize4bit(values, { quantType: scheme, blockSize: groupSize, doubleQuant, shape: [n] });
      const info: PackedWeightInfo = { scheme, shape: s, groupSize, symmetric: true, doubleQuant };
      if (q.nested) info.doubleQuantBlockSize = q.nested.blockSize;
      return new PackedWeight(info, q.packed, q.absmax ?? null, null, q.nested ?? null);
    }
    const symmetric = config.symmetric ?? true;
    if (config.scale && !symmetric) throw new InvalidArgumentError('fixed scales need a symmetric scheme');
    // Pad to whole groups with zeros (the padding codes are stored but never read back).
    const groups = Math.ceil(n / groupSize);
    const padded = groups * groupSize === n ? values : (() => { const p = new Float32Array(groups * groupSize); p.set(values); return p; })();
    const q = quantizeAffine(padded, {
      dtype: affineDType(scheme, symmetric),
      symmetric,
      shape: [groups, groupSize],
      granularity: { kind: 'channel', axis: 0 },
      ...(config.scale ? { scale: config.scale } : {}),
    });
    return new PackedWeight({ scheme, shape: s, groupSize, symmetric, doubleQuant: false }, q.data, q.scale, symmetric ? null : q.zeroPoint, null);
  }

  /** Rebuilds a packed weight from its stored parts (checked: sizes must agree with `info`). */
  static fromParts(info: PackedWeightInfo, parts: { packed: Uint8Array; scale?: Float32Array | null; zeroPoint?: Int32Array | null; nested?: NestedScales | null }): PackedWeight {
    const n = numel(info.shape);
    const g = info.groupSize;
    if (!WEIGHT_SCHEMES.includes(info.scheme)) throw new InvalidArgumentError(`unknown weight scheme ${JSON.stringify(info.scheme)}`);
    if (!Number.isInteger(g) || g < 1 || !(n > 0)) throw new ShapeError(`packed weight: bad groupSize ${g} or shape [${info.shape.join(', ')}]`);
    const groups = Math.ceil(n / g);
    const fourBit = info.scheme === 'nf4' || info.scheme === 'fp4';
    const bytes = fourBit ? Math.ceil(n / 2) : info.scheme === 'int8' ? groups * g : Math.ceil((groups * g) / 2);
    if (parts.packed.length !== bytes) throw new ShapeError(`packed weight: expected ${bytes} packed bytes for ${info.scheme} [${info.shape.join(', ')}], got ${parts.packed.length}`);
    if (fourBit && info.doubleQuant) {
      const nested = parts.nested;
      if (!nested || nested.qabsmax.length !== groups || nested.absmax2.length !== Math.ceil(groups / nested.blockSize)) {
        throw new ShapeError(`packed weight: double-quantized scales do not match ${groups} blocks`);
      }
      return new PackedWeight(info, parts.packed, null, null, nested);
    }
    if (!parts.scale || parts.scale.length !== groups) throw new ShapeError(`packed weight: expected ${groups} scales, got ${parts.scale?.length ?? 0}`);
    if (!fourBit && !info.symmetric && (!parts.zeroPoint || parts.zeroPoint.length !== groups)) {
      throw new ShapeError(`packed weight: expected ${groups} zero points, got ${parts.zeroPoint?.length ?? 0}`);
    }
    return new PackedWeight(info, parts.packed, parts.scale, info.symmetric || fourBit ? null : parts.zeroPoint!, null);
  }

  /** The per-group scales as float32 (restored from the nested form when double-quantized). */
  groupScales(): Float32Array {
    if (this.scale) return this.scale;
    const fake = { format: 'bnb-4bit', quantType: 'nf4', shape: [this.size], blockSize: this.info.groupSize, packed: this.packed, nested: this.nested! } as FourBitQuantized;
    return blockScales(fake);
  }

  /** Float32 values of elements [start, end) (row-major). */
  dequantizeRange(start = 0, end = this.size, out?: Float32Array): Float32Array {
    if (!(start >= 0 && end <= this.size && start <= end)) throw new InvalidArgumentError(`dequantizeRange: [${start}, ${end}) is outside [0, ${this.size})`);
    const res = out ?? new Float32Array(end - start);
    const g = this.info.groupSize;
    const p = this.packed;
    const scales = this.groupScales();
    const scheme = this.info.scheme;
    if (scheme === 'nf4' || scheme === 'fp4') {
      const pairs = scheme === 'nf4' ? NF4_PAIRS : FP4_PAIRS;
      for (let i = start; i < end; i++) res[i - start] = pairs[2 * p[i >> 1]! + (i & 1)]! * scales[(i / g) | 0]!;
      return res;
    }
    const zp = this.zeroPoint;
    if (scheme === 'int8') {
      const codes = this.info.symmetric ? new Int8Array(p.buffer, p.byteOffset, p.length) : p;
      for (let i = start; i < end; i++) {
        const k = (i / g) | 0;
        res[i - start] = scales[k]! * (codes[i]! - (zp ? zp[k]! : 0));
      }
      return res;
    }
    const signed = this.info.symmetric;
    for (let i = start; i < end; i++) {
      const k = (i / g) | 0;
      const b = p[i >> 1]!;
      let c = i & 1 ? b >> 4 : b & 15;
      if (signed && c >= 8) c -= 16;
      res[i - start] = scales[k]! * (c - (zp ? zp[k]! : 0));
    }
    return res;
  }

  /** The whole weight as a float32 tensor of its shape (the caller disposes it). */
  dequantize(): Tensor {
    return tensor(this.dequantizeRange(), this.info.shape, 'float32');
  }

  /** A 2-D weight [rows, cols] dequantized and transposed to [cols, rows] (the caller disposes it). */
  dequantizeTransposed(): Tensor {
    if (this.info.shape.length !== 2) throw new ShapeError(`dequantizeTransposed: expected a 2-D weight, got [${this.info.shape.join(', ')}]`);
    const [r, c] = this.info.shape as [number, number];
    const v = this.dequantizeRange();
    const t = new Float32Array(v.length);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = v[i * c + j]!;
    return tensor(t, [c, r], 'float32');
  }

  /** Exact bytes held: packed codes, scales (float32), zero points (1 byte each), nested scales. */
  storageBytes(): number {
    let b = this.packed.length;
    if (this.scale) b += 4 * this.scale.length;
    if (this.zeroPoint) b += this.zeroPoint.length;
    if (this.nested) b += this.nested.qabsmax.length + 4 * this.nested.absmax2.length + 4;
    return b;
  }

  bitsPerParameter(): number {
    return (8 * this.storageBytes()) / this.size;
  }
}
