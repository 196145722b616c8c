import { InvalidArgumentError } from '@nutshell/core';
import { dtypeInfo, type QuantDType } from './dtypes.js';

/**
 * Packs integers of `dtype` into bytes, least significant bits first: element i goes to byte
 * ⌊i·bits/8⌋ at bit offset (i·bits) mod 8. For 4-bit types element 0 is the LOW nibble of byte 0 and
 * element 1 the high nibble — PyTorch's quint4x2/quint2x4 order. Signed values are stored as
 * two's complement within their bits. The last byte is zero-padded.
 *
 * (bitsandbytes NF4/FP4 uses the opposite nibble order, first element in the HIGH nibble; see nf4.ts.)
 */
export function packBits(values: ArrayLike<number>, dtype: QuantDType): Uint8Array {
  const { bits, qmin, qmax } = dtypeInfo(dtype);
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  const mask = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= qmin && v <= qmax) || !Number.isInteger(v)) throw new InvalidArgumentError(`packBits: element ${i} = ${v} is outside ${dtype} [${qmin}, ${qmax}]`);
    if (bits === 8) out[i] = v & 0xff;
    else {
      const bit = i * bits;
      out[bit >>> 3]! |= (v & mask) << (bit & 7);
    }
  }
  return out;
}

/** Inverse of packBits: `count` integers of `dtype` (sign-extended for signed types). */
export function unpackBits(bytes: Uint8Array, dtype: QuantDType, count: number): Int32Array {
  const { bits, signed } = dtypeInfo(dtype);
  if (bytes.length * 8 < count * bits) throw new InvalidArgumentError(`unpackBits: ${bytes.length} bytes hold fewer than ${count} ${dtype} values`);
  const out = new Int32Array(count);
  const mask = (1 << bits) - 1;
  const signBit = 1 << (bits - 1);
  for (let i = 0; i < count; i++) {
    const bit = i * bits;
    let v = bits === 8 ? bytes[i]! : (bytes[bit >>> 3]! >>> (bit & 7)) & mask;
    if (signed && v & signBit) v -= 1 << bits;
    out[i] = v;
  }
  return out;
}

/** Bytes that `count` packed values of `dtype` take. */
export function packedByteLength(dtype: QuantDType, count: number): number {
  return Math.ceil((count * dtypeInfo(dtype).bits) / 8);
}
