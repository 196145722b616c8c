import { f32, readF16, truncInt, writeF16 } from './common.js';

/** Q4_1 block (20 bytes): f16 d, f16 m, 16 bytes of nibbles (as Q4_0); x ≈ d · q + m, d = (max − min) / 15. */
export function quantizeQ4_1(x: Float32Array, out: Uint8Array): void {
  for (let b = 0, o = 0; b < x.length; b += 32, o += 20) {
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < 32; j++) {
      const v = x[b + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = f32(f32(max - min) / 15);
    const id = d ? f32(1 / d) : 0;
    writeF16(out, o, d);
    writeF16(out, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, truncInt(f32(f32(f32(x[b + j]! - min) * id) + 0.5)));
      const hi = Math.min(15, truncInt(f32(f32(f32(x[b + 16 + j]! - min) * id) + 0.5)));
      out[o + 4 + j] = lo | (hi << 4);
    }
  }
}

export function dequantizeQ4_1(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; b < out.length; b += 32, o += 20) {
    const d = readF16(bytes, o);
    const m = readF16(bytes, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = bytes[o + 4 + j]!;
      out[b + j] = f32(f32((q & 15) * d) + m);
      out[b + 16 + j] = f32(f32((q >> 4) * d) + m);
    }
  }
}
