import { f32, fp16, fromFp16, GROUP_MAX_EPS, nearestInt, readF16 } from './common.js';
import { makeQxQuants } from './k-helpers.js';

/**
 * Q6_K super-block (210 bytes for 256 values): ql[128] (low 4 bits), qh[64] (high 2 bits), sixteen
 * int8 scales, f16 d; x ≈ d · scale · (q − 32) per 16-value sub-block. In each half h (128 values),
 * value 128h + 32k + l (k < 4, l < 32) has its low nibble in ql[64h + l + 32·(k mod 2)] (high nibble
 * when k ≥ 2) and its top bits at bit 2k of qh[32h + l]. quantize_row_q6_K_ref.
 */
export function quantizeQ6_K(x: Float32Array, out: Uint8Array): void {
  const L = new Int8Array(256);
  const scales = new Float32Array(16);
  for (let b = 0, o = 0; b < x.length; b += 256, o += 210) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const s = makeQxQuants(16, 32, x, b + 16 * ib, L, 16 * ib);
      scales[ib] = s;
      if (Math.abs(s) > maxAbsScale) {
        maxAbsScale = Math.abs(s);
        maxScale = s;
      }
    }
    out.fill(0, o, o + 210);
    if (maxAbsScale < GROUP_MAX_EPS) continue;
    const iscale = f32(-128 / maxScale);
    const dBits = fp16(f32(1 / iscale));
    out[o + 208] = dBits & 0xff;
    out[o + 209] = dBits >>> 8;
    const d = fromFp16(dBits);
    for (let ib = 0; ib < 16; ib++) out[o + 192 + ib] = Math.min(127, nearestInt(f32(iscale * scales[ib]!))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const sc = (out[o + 192 + j]! << 24) >> 24;
      const dd = f32(d * sc);
      if (!dd) continue;
      for (let i = 0; i < 16; i++) L[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f32(x[b + 16 * j + i]! / dd)))) + 32;
    }
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[128 * h + l]!;
        const q2 = L[128 * h + l + 32]!;
        const q3 = L[128 * h + l + 64]!;
        const q4 = L[128 * h + l + 96]!;
        out[o + 64 * h + l] = (q1 & 15) | ((q3 & 15) << 4);
        out[o + 64 * h + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
        out[o + 128 + 32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}

export function dequantizeQ6_K(bytes: Uint8Array, out: Float32Array): void {
  for (let b = 0, o = 0; b < out.length; b += 256, o += 210) {
    const d = readF16(bytes, o + 208);
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const is = Math.floor(l / 16);
        const ql0 = bytes[o + 64 * h + l]!;
        const ql1 = bytes[o + 64 * h + l + 32]!;
        const qh = bytes[o + 128 + 32 * h + l]!;
        const sc = (k: number) => (bytes[o + 192 + 8 * h + is + 2 * k]! << 24) >> 24;
        const q1 = ((ql0 & 15) | (((qh >> 0) & 3) << 4)) - 32;
        const q2 = ((ql1 & 15) | (((qh >> 2) & 3) << 4)) - 32;
        const q3 = ((ql0 >> 4) | (((qh >> 4) & 3) << 4)) - 32;
        const q4 = ((ql1 >> 4) | (((qh >> 6) & 3) << 4)) - 32;
        out[b + 128 * h + l] = f32(d * sc(0)) * q1;
        out[b + 128 * h + l + 32] = f32(d * sc(1)) * q2;
        out[b + 128 * h + l + 64] = f32(d * sc(2)) * q3;
        out[b + 128 * h + l + 96] = f32(d * sc(3)) * q4;
      }
    }
  }
}
