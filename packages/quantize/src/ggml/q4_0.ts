import { f32, readF16, signedAbsMax, truncInt, writeF16 } from './common.js';

/**
 * Q4_0 block (18 bytes): f16 d, then 16 bytes; byte j holds value j in its low nibble and value j + 16
 * in its high nibble, each q ∈ 0..15 with x ≈ d · (q − 8) and d = (value of largest |x|) / −8.
 */
export function quantizeQ4_0(x: Float32Array, out: Uint8Array): void {
  for (let b = 0, o = 0; b < x.length; b += 32, o += 18) {
    const d = f32(signedAbsMax(x, b, 32) / -8);
    const id = d ? f32(1 / d) : 0;
    writeF16(out, o, d);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, truncInt(f32(f32(x[b + j]! * id) + 8.5)));
      const hi = Math.min(15, truncInt(f32(f32(x[b + 16 + j]! * id) + 8.5)));
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
}

export function dequantizeQ4_0(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; b < out.length; b += 32, o += 18) {
    const d = readF16(bytes, o);
    for (let j = 0; j < 16; j++) {
      const q = bytes[o + 2 + j]!;
      out[b + j] = ((q & 15) - 8) * d;
      out[b + 16 + j] = ((q >> 4) - 8) * d;
    }
  }
}
