import { f32, fp16, fromFp16, nearestInt, readF16 } from './common.js';
import { getScaleMinK4, makeQkx2Quants } from './k-helpers.js';

/**
 * Q4_K super-block (144 bytes for 256 values): f16 d, f16 dmin, 12 bytes holding eight 6-bit scales
 * and eight 6-bit mins, then 128 bytes of nibbles. Values 64·g + l (l < 32) sit in the low nibble of
 * byte 32·g + l and values 64·g + 32 + l in its high nibble; x ≈ d·sc·q − dmin·m per 32-value
 * sub-block. quantize_row_q4_K_ref: make_qkx2_quants per sub-block with weights av_x + |x|.
 */
export function quantizeQ4_K(x: Float32Array, out: Uint8Array): void {
  const L = new Uint8Array(256);
  const Laux = new Uint8Array(32);
  const weights = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  for (let b = 0, o = 0; b < x.length; b += 256, o += 144) {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f32(sumX2 + f32(x[b + 32 * j + l]! * x[b + 32 * j + l]!));
      const avX = f32(Math.sqrt(f32(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f32(avX + Math.abs(x[b + 32 * j + l]!));
      const r = makeQkx2Quants(32, 15, x, b + 32 * j, weights, L, 32 * j, Laux, -1, f32(0.1), 20);
      scales[j] = r.scale;
      mins[j] = r.min;
      if (r.scale > maxScale) maxScale = r.scale;
      if (r.min > maxMin) maxMin = r.min;
    }
    const invScale = maxScale > 0 ? f32(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f32(63 / maxMin) : 0;
    const sc = out.subarray(o + 4, o + 16);
    sc.fill(0);
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f32(invScale * scales[j]!)) & 0xff);
      const lm = Math.min(63, nearestInt(f32(invMin * mins[j]!)) & 0xff);
      if (j < 4) {
        sc[j] = ls;
        sc[j + 4] = lm;
      } else {
        sc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        sc[j - 4]! |= (ls >> 4) << 6;
        sc[j]! |= (lm >> 4) << 6;
      }
    }
    const dBits = fp16(f32(maxScale / 63));
    const mBits = fp16(f32(maxMin / 63));
    out[o] = dBits & 0xff;
    out[o + 1] = dBits >>> 8;
    out[o + 2] = mBits & 0xff;
    out[o + 3] = mBits >>> 8;
    const d = fromFp16(dBits);
    const dmin = fromFp16(mBits);
    for (let j = 0; j < 8; j++) {
      const [s, m] = getScaleMinK4(j, out, o + 4);
      const dd = f32(d * s);
      if (!dd) continue; // keeps the levels of the sub-block search, as the reference does
      const dm = f32(dmin * m);
      for (let i = 0; i < 32; i++) L[32 * j + i] = Math.max(0, Math.min(15, nearestInt(f32(f32(x[b + 32 * j + i]! + dm) / dd))));
    }
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) out[o + 16 + 32 * g + l] = L[64 * g + l]! | (L[64 * g + 32 + l]! << 4);
    }
  }
}

export function dequantizeQ4_K(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; b < out.length; b += 256, o += 144) {
    const d = readF16(bytes, o);
    const dmin = readF16(bytes, o + 2);
    for (let g = 0; g < 4; g++) {
      const [s1, m1] = getScaleMinK4(2 * g, bytes, o + 4);
      const [s2, m2] = getScaleMinK4(2 * g + 1, bytes, o + 4);
      const d1 = f32(d * s1);
      const dm1 = f32(dmin * m1);
      const d2 = f32(d * s2);
      const dm2 = f32(dmin * m2);
      for (let l = 0; l < 32; l++) {
        const q = bytes[o + 16 + 32 * g + l]!;
        out[b + 64 * g + l] = f32(d1 * (q & 15)) - dm1;
        out[b + 64 * g + 32 + l] = f32(d2 * (q >> 4)) - dm2;
      }
    }
  }
}

