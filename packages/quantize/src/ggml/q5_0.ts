import { f32, readF16, signedAbsMax, truncInt, writeF16 } from './common.js';

/**
 * Q5_0 block (22 bytes): f16 d, a little-endian uint32 qh holding bit 4 of value j at bit j, then 16
 * bytes of low nibbles (as Q4_0); q ∈ 0..31, x ≈ d · (q − 16), d = (value of largest |x|) / −16.
 */
export function quantizeQ5_0(x: Float32Array, out: Uint8Array): void {
  for (let b = 0, o = 0; b < x.length; b += 32, o += 22) {
    const d = f32(signedAbsMax(x, b, 32) / -16);
    const id = d ? f32(1 / d) : 0;
    writeF16(out, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(31, truncInt(f32(f32(x[b + j]! * id) + 16.5)));
      const hi = Math.min(31, truncInt(f32(f32(x[b + 16 + j]! * id) + 16.5)));
      out[o + 6 + j] = (lo & 15) | ((hi & 15) << 4);
      qh |= ((lo >> 4) & 1) << j;
      qh |= ((hi >> 4) & 1) << (j + 16);
    }
    out[o + 2] = qh & 0xff;
    out[o + 3] = (qh >>> 8) & 0xff;
    out[o + 4] = (qh >>> 16) & 0xff;
    out[o + 5] = (qh >>> 24) & 0xff;
  }
}

export function dequantizeQ5_0(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; b < out.length; b += 32, o += 22) {
    const d = readF16(bytes, o);
    const qh = (bytes[o + 2]! | (bytes[o + 3]! << 8) | (bytes[o + 4]! << 16) | (bytes[o + 5]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = bytes[o + 6 + j]!;
      out[b + j] = (((q & 15) | (((qh >>> j) & 1) << 4)) - 16) * d;
      out[b + 16 + j] = (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  }
}
