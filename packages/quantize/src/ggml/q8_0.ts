import { roundHalfAway } from '../float32.js';
import { f32, readF16, writeF16 } from './common.js';

/** Q8_0 block (34 bytes): f16 d, then 32 int8 values; x ≈ d · q with d = max|x| / 127 (quantize_row_q8_0_ref). */
export function quantizeQ8_0(x: Float32Array, out: Uint8Array): void {
  for (let b = 0, o = 0; b < x.length; b += 32, o += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
    const d = f32(amax / 127);
    const id = d ? f32(1 / d) : 0;
    writeF16(out, o, d);
    for (let j = 0; j < 32; j++) out[o + 2 + j] = roundHalfAway(f32(x[b + j]! * id)) & 0xff; // roundf
  }
}

export function dequantizeQ8_0(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; b < out.length; b += 32, o += 34) {
    const d = readF16(bytes, o);
    for (let j = 0; j < 32; j++) out[b + j] = (((bytes[o + 2 + j]! << 24) >> 24) * d);
  }
}
