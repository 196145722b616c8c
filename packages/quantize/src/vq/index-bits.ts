import { InvalidArgumentError } from '@nutshell/core';

/**
 * Packs unsigned integers of `bits` bits (1–16) into bytes, least significant bit first: index i
 * occupies bits [i·bits, (i+1)·bits) of the little-endian bit stream. The last byte is zero-padded.
 */
export function packIndices(values: ArrayLike<number>, bits: number): Uint8Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new InvalidArgumentError(`packIndices: bits must be an integer in [1, 16], got ${bits}`);
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  const max = 2 ** bits - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > max) throw new InvalidArgumentError(`packIndices: element ${i} = ${v} is outside [0, ${max}]`);
    let bit = i * bits;
    for (let left = bits, val = v; left > 0; ) {
      const off = bit & 7;
      const take = Math.min(8 - off, left);
      out[bit >>> 3]! |= (val & ((1 << take) - 1)) << off;
      val >>>= take;
      left -= take;
      bit += take;
    }
  }
  return out;
}

/** Inverse of packIndices: `count` integers of `bits` bits. */
export function unpackIndices(bytes: Uint8Array, bits: number, count: number): Int32Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new InvalidArgumentError(`unpackIndices: bits must be an integer in [1, 16], got ${bits}`);
  if (bytes.length < Math.ceil((count * bits) / 8)) throw new InvalidArgumentError(`unpackIndices: ${count} indices of ${bits} bits need ${Math.ceil((count * bits) / 8)} bytes, got ${bytes.length}`);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let bit = i * bits;
    let v = 0;
    for (let got = 0; got < bits; ) {
      const off = bit & 7;
      const take = Math.min(8 - off, bits - got);
      v |= ((bytes[bit >>> 3]! >> off) & ((1 << take) - 1)) << got;
      got += take;
      bit += take;
    }
    out[i] = v;
  }
  return out;
}
