import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Rng, tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  FP4_CODE,
  NF4_CODE,
  blockScales,
  bnbDynamicMap,
  dequantize4bit,
  dequantize4bitValues,
  fourBitBitsPerParameter,
  fourBitStorageBytes,
  quantize4bit,
  type FourBitType,
} from '@nutshell/quantize';

interface BnbCase {
  quantType: FourBitType;
  shape: number[];
  x: number[] | { formula: 'bnb'; n: number };
  packed: number[] | string;
  absmax: number[];
  doubleQuant?: boolean;
  offset?: number;
  qabsmax?: number[];
  absmax2?: number[];
  absmaxRestored?: number[];
  dequantized?: number[];
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/bnb.json', import.meta.url), 'utf8')) as {
  dynamicMap: number[];
  nf4: number[];
  fp4: number[];
  cases: BnbCase[];
};

/** The generator's formula input (integer arithmetic, then float32), recomputed here. */
function formulaInput(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const base = Math.fround(Math.fround(((i * 7919) % 2003) - 1001) / 20020);
    out[i] = Math.fround(base * Math.fround((1 + (Math.floor(i / 64) % 7)) / 4));
  }
  return out;
}
const hex = (h: string) => Array.from(Buffer.from(h, 'hex'));

describe('bitsandbytes code tables', () => {
  it('NF4 and FP4 tables and the 256-value dynamic map equal the reference', () => {
    expect(Array.from(NF4_CODE)).toEqual(fixtures.nf4);
    expect(Array.from(FP4_CODE).map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(fixtures.fp4.map((v) => (Object.is(v, -0) ? 0 : v)));
    expect(Array.from(bnbDynamicMap())).toEqual(fixtures.dynamicMap);
    expect(NF4_CODE[7]).toBe(0); // exact zero
  });
});

describe(`quantize4bit matches the bitsandbytes algorithm (${fixtures.cases.length} cases)`, () => {
  for (const c of fixtures.cases) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    it(`${c.quantType}${c.doubleQuant ? ' + double quant' : ''}, ${n} values`, () => {
      const x = Array.isArray(c.x) ? Float32Array.from(c.x) : formulaInput(c.x.n);
      const q = quantize4bit(x, { quantType: c.quantType, doubleQuant: c.doubleQuant, shape: c.shape });
      expect(Array.from(q.packed)).toEqual(typeof c.packed === 'string' ? hex(c.packed) : c.packed);
      if (!c.doubleQuant) {
        expect(Array.from(q.absmax!)).toEqual(c.absmax);
      } else {
        const nested = q.nested!;
        // torch's float32 mean sums pairwise; ours is exact then rounded: allow a few ulps.
        expect(Math.abs(nested.offset - c.offset!)).toBeLessThanOrEqual(Math.abs(c.offset!) * 2 ** -21);
        const diff = Array.from(nested.qabsmax).filter((v, i) => v !== c.qabsmax![i]).length;
        expect(diff).toBeLessThanOrEqual(1);
        expect(Array.from(nested.absmax2).map((v, i) => Math.abs(v - c.absmax2![i]!) <= 1e-7)).not.toContain(false);
        const restored = blockScales(q);
        for (let i = 0; i < restored.length; i++) expect(Math.abs(restored[i]! - c.absmaxRestored![i]!)).toBeLessThanOrEqual(1e-6);
      }
      if (c.dequantized) expect(Array.from(dequantize4bitValues(q))).toEqual(c.dequantized);
    });
  }
});

describe('storage and error', () => {
  const rng = new Rng('nf4');
  const w = Float32Array.from({ length: 64 * 256 * 8 }, () => rng.normal() * 0.02);
  it('bits per parameter: 4.5 plain, ≈ 4.127 with double quantization', () => {
    const plain = quantize4bit(w);
    expect(fourBitBitsPerParameter(plain)).toBe(4.5);
    const dq = quantize4bit(w, { doubleQuant: true });
    expect(fourBitStorageBytes(dq)).toBe(w.length / 2 + w.length / 64 + 4 * 8 + 4);
    expect(fourBitBitsPerParameter(dq)).toBeCloseTo(4.127, 3);
  });

  it('NF4 error is bounded by half the widest code gap (−1 … −0.696) times absmax; DQ adds little', () => {
    const plain = dequantize4bitValues(quantize4bit(w));
    const dq = dequantize4bitValues(quantize4bit(w, { doubleQuant: true }));
    const mse = (d: Float32Array) => d.reduce((s, v, i) => s + (v - w[i]!) ** 2, 0) / w.length;
    const absmax = quantize4bit(w).absmax!;
    for (let i = 0; i < w.length; i++) expect(Math.abs(plain[i]! - w[i]!)).toBeLessThanOrEqual(((1 - 0.6961928) / 2) * absmax[Math.floor(i / 64)]! * (1 + 1e-6));
    const var0 = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(mse(plain) / var0).toBeLessThan(0.015); // NF4 SQNR ≈ 20 dB on Gaussian weights
    expect(mse(dq)).toBeLessThan(mse(plain) * 1.05);
  });

  it('zero blocks, odd lengths, FP4 signs', () => {
    const q = quantize4bit([0, 0, 0], { blockSize: 2 });
    expect(Array.from(dequantize4bitValues(q)).map(Math.abs)).toEqual([0, 0, 0]);
    const f = quantize4bit([1, -1, 0.5, -0.25], { quantType: 'fp4' });
    expect(Array.from(f.packed)).toEqual([0x3b, 0x5f]);
    expect(Array.from(dequantize4bitValues(f))).toEqual([1, -1, 0.5, -0.25]);
  });

  it('tensor in, tensor out, no leak; typed errors', async () => {
    await expectNoLeak(() => {
      const x = tensor([[0.5, -1], [2, 0.25]]);
      const y = dequantize4bit(quantize4bit(x, { doubleQuant: true }));
      expect(y.shape).toEqual([2, 2]);
      x.dispose();
      y.dispose();
    });
    expect(() => quantize4bit([1], { quantType: 'int4' as FourBitType })).toThrow(InvalidArgumentError);
    expect(() => quantize4bit([1], { blockSize: 3 })).toThrow(InvalidArgumentError);
    expect(() => quantize4bit([Infinity])).toThrow(InvalidArgumentError);
  });
});
