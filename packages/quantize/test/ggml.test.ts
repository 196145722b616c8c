import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, fromFloat16Bits } from '@nutshell/core';
import { GGML_TYPES, dequantizeGgml, ggmlBitsPerValue, ggmlRowSize, quantizeGgml, type GgmlType } from '@nutshell/quantize';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/ggml.json', import.meta.url), 'utf8')) as {
  cases: { type: GgmlType; input: string; x: number[]; bytes: string }[];
};
const SEED = 777;
const QUANT_TYPES: GgmlType[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q4_K', 'Q6_K'];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ggml block bytes equal the reference quantizers (numpy float32 restatement of quantize_row_*_ref)', () => {
  for (const c of fixtures.cases) {
    it(`${c.type} ${c.input}`, () => {
      expect(hex(quantizeGgml(c.type, Float32Array.from(c.x)))).toBe(c.bytes);
    });
  }
});

describe('hand-computed blocks from the published layouts', () => {
  const ramp = Float32Array.from({ length: 32 }, (_, i) => i - 16); // −16 … 15
  it('Q8_0: d = 16/127 as f16, then round(x/d) half away from zero', () => {
    const b = quantizeGgml('Q8_0', ramp);
    expect(b.length).toBe(34);
    const d = fromFloat16Bits(b[0]! | (b[1]! << 8));
    expect(d).toBe(fromFloat16Bits(0x3008)); // f16(16/127 = 0.12598…) = 0x3008
    expect((b[2]! << 24) >> 24).toBe(-127);
    expect(b[2 + 16]).toBe(0);
    expect((b[2 + 31]! << 24) >> 24).toBe(Math.round(15 / Math.fround(16 / 127)));
  });
  it('Q4_0: d = max/−8 with the sign of the largest |x|; value j low nibble, j+16 high nibble', () => {
    const b = quantizeGgml('Q4_0', ramp);
    expect(fromFloat16Bits(b[0]! | (b[1]! << 8))).toBe(2); // −16 / −8
    // x0 = −16 → −16·0.5 + 8.5 = 0.5 → 0; x16 = 0 → 8; x1 = −15 → 1.0 → 1; x17 = 1 → 9
    expect(b[2]).toBe(0 | (8 << 4));
    expect(b[3]).toBe(1 | (9 << 4));
    expect(b[17]).toBe(8 | (15 << 4)); // x15 = −1 → 8; x31 = 15 → 16 → clamped to 15
  });
  it('Q4_1: d = (max − min)/15, m = min', () => {
    const b = quantizeGgml('Q4_1', ramp);
    expect(fromFloat16Bits(b[0]! | (b[1]! << 8))).toBe(2.06640625); // f16(31/15)
    expect(fromFloat16Bits(b[2]! | (b[3]! << 8))).toBe(-16);
    // q = trunc((x + 16)·15/31 + 0.5): x0 → 0, x16 → 8, x15 → 7, x31 → 15
    expect(b[4]).toBe(0 | (8 << 4));
    expect(b[19]).toBe(7 | (15 << 4));
  });
  it('Q5_0: 5th bits in a little-endian uint32 after d', () => {
    const b = quantizeGgml('Q5_0', ramp);
    expect(fromFloat16Bits(b[0]! | (b[1]! << 8))).toBe(1); // −16 / −16
    const qh = (b[2]! | (b[3]! << 8) | (b[4]! << 16) | (b[5]! << 24)) >>> 0;
    // q = x + 16 (x·(−1)·… with d = 1): values 0..31; bit 4 set for x ≥ 0, i.e. indices 16..31
    expect(qh).toBe(0xffff0000);
    expect(b[6]).toBe(0 | (0 << 4)); // q0 = 0, q16 = 16 → low nibble 0
    expect(b[21]).toBe(15 | (15 << 4)); // q15 = 15, q31 = 31
  });
  it('Q4_K and Q6_K: all-zero super-blocks are all-zero bytes', () => {
    expect(quantizeGgml('Q4_K', new Float32Array(256)).every((v) => v === 0)).toBe(true);
    expect(quantizeGgml('Q6_K', new Float32Array(256)).every((v) => v === 0)).toBe(true);
  });
});

describe('properties', () => {
  it('sizes: block bytes per type and bits per value', () => {
    expect([ggmlRowSize('Q8_0', 64), ggmlRowSize('Q4_0', 64), ggmlRowSize('Q4_1', 64), ggmlRowSize('Q5_0', 64), ggmlRowSize('Q4_K', 512), ggmlRowSize('Q6_K', 512)]).toEqual([68, 36, 40, 44, 288, 420]);
    expect(ggmlBitsPerValue('Q4_K')).toBe(4.5);
    expect(ggmlBitsPerValue('Q6_K')).toBe(6.5625);
    expect(ggmlBitsPerValue('Q8_0')).toBe(8.5);
  });

  it('dequantize(quantize(x)) error bounds: half a step plus the f16 rounding of the scales (600 cases)', () => {
    const bound: Record<string, (amax: number, range: number) => number> = {
      Q8_0: (a) => a / 127 / 2,
      Q4_0: (a) => a / 8, // half a step of d = amax/8, plus the clamp of +8 to +7 (one full step)
      Q4_1: (_, r) => r / 15 / 2,
      Q5_0: (a) => a / 16,
      Q4_K: (_, r) => r / 15, // 6-bit scales and mins add up to about half a step more
      Q6_K: (a) => a / 32 / 2 + a / 64,
    };
    fc.assert(
      fc.property(fc.constantFrom(...QUANT_TYPES), fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 256, maxLength: 256 }), fc.float({ min: Math.fround(0.01), max: 100, noNaN: true }), (type, raw, scale) => {
        const block = GGML_TYPES[type].blockSize;
        const x = Float32Array.from(raw.slice(0, block === 32 ? 64 : 256), (v) => Math.fround(v * scale));
        const deq = dequantizeGgml(type, quantizeGgml(type, x), x.length);
        for (let b = 0; b < x.length; b += block) {
          let amax = 0;
          let min = Infinity;
          let max = -Infinity;
          for (let i = b; i < b + block; i++) {
            amax = Math.max(amax, Math.abs(x[i]!));
            min = Math.min(min, x[i]!);
            max = Math.max(max, x[i]!);
          }
          // The scale is stored as f16: up to 2^-11 relative error, times |q·d| ≤ the range.
          const tol = bound[type]!(amax, max - Math.min(min, 0)) * 1.01 + 2 ** -10 * Math.max(amax, max - min);
          for (let i = b; i < b + block; i++) expect(Math.abs(deq[i]! - x[i]!)).toBeLessThanOrEqual(type === 'Q4_0' ? 2 * tol : tol);
        }
      }),
      { numRuns: 600, seed: SEED },
    );
  });

  it('F32, F16 and BF16 round-trip as plain little-endian values', () => {
    const x = Float32Array.of(1, -2.5, 65504, 1e-3);
    expect(Array.from(dequantizeGgml('F32', quantizeGgml('F32', x), 4))).toEqual(Array.from(x));
    expect(Array.from(quantizeGgml('F16', [1, -2]))).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect(Array.from(dequantizeGgml('BF16', quantizeGgml('BF16', [1, -2]), 2))).toEqual([1, -2]);
  });

  it('typed errors for partial blocks, short buffers, unknown or unsupported types, NaN', () => {
    expect(() => quantizeGgml('Q4_0', new Float32Array(31))).toThrow(InvalidArgumentError);
    expect(() => dequantizeGgml('Q8_0', new Uint8Array(33), 32)).toThrow(InvalidArgumentError);
    expect(() => quantizeGgml('Q9' as GgmlType, new Float32Array(32))).toThrow(InvalidArgumentError);
    expect(() => quantizeGgml('IQ2_XXS', new Float32Array(256))).toThrow(InvalidArgumentError);
    expect(() => quantizeGgml('Q8_0', new Float32Array(32).fill(NaN))).toThrow(InvalidArgumentError);
  });
});
