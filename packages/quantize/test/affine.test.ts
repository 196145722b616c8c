import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, tensor, tensorCount } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  QUANT_DTYPES,
  affineIntegers,
  affineStorageBytes,
  computeQParams,
  dequantizeAffine,
  dequantizeAffineValues,
  fakeQuantize,
  packBits,
  quantRange,
  quantizeAffine,
  unpackBits,
  type QuantDType,
} from '@nutshell/quantize';

interface TorchCase {
  kind: 'tensor' | 'channel';
  dtype: 'int8' | 'uint8' | 'uint4' | 'uint2';
  shape: number[];
  axis?: number;
  x: number[];
  scale?: number;
  zeroPoint?: number;
  scales?: number[];
  zeroPoints?: number[];
  packed: number[];
  dequantized: number[];
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/affine.json', import.meta.url), 'utf8')) as { torch: string; cases: TorchCase[]; observers: unknown[] };
const SEED = 424242;

describe('affine quantization matches PyTorch (fixtures from torch ' + fixtures.torch + ')', () => {
  it(`quantize_per_tensor and quantize_per_channel: same integers, same packed bytes (${fixtures.cases.length} cases)`, () => {
    for (const c of fixtures.cases) {
      const q = quantizeAffine(Float32Array.from(c.x), {
        dtype: c.dtype,
        shape: c.shape,
        granularity: c.kind === 'tensor' ? { kind: 'tensor' } : { kind: 'channel', axis: c.axis! },
        scale: c.kind === 'tensor' ? c.scale! : c.scales!,
        zeroPoint: c.kind === 'tensor' ? c.zeroPoint! : c.zeroPoints!,
      });
      // 8-bit int_repr is the integers; torch's quint4x2/quint2x4 int_repr is the packed bytes.
      const got = QUANT_DTYPES[c.dtype].bits === 8 ? Array.from(affineIntegers(q)) : Array.from(q.data);
      expect(got, `${c.kind} ${c.dtype} shape [${c.shape}]`).toEqual(c.packed);
      const deq = dequantizeAffineValues(q);
      for (let i = 0; i < deq.length; i++) expect(Math.abs(deq[i]! - c.dequantized[i]!)).toBeLessThanOrEqual(Math.abs(c.dequantized[i]!) * 2 ** -22);
    }
  });

  it('the fixtures exercise ties: some x/scale land exactly on k + 0.5 and round to even', () => {
    const c = fixtures.cases.find((k) => k.kind === 'tensor' && k.dtype === 'int8' && k.scale === 0.5)!;
    const q = quantizeAffine(Float32Array.from([0.25, 0.75, 1.25, -0.25, -0.75]), { dtype: 'int8', scale: 0.5, zeroPoint: 1 });
    expect(Array.from(affineIntegers(q))).toEqual([1, 3, 3, 1, -1]);
    expect(c.x).toContain(0.25);
  });
});

describe('packing', () => {
  it('4-bit: first element in the low nibble; 2-bit: LSB first; signed as two’s complement', () => {
    expect(Array.from(packBits([1, 4, 4, 6], 'uint4'))).toEqual([0x41, 0x64]);
    expect(Array.from(packBits([-1, 2], 'int4'))).toEqual([0x2f]);
    expect(Array.from(packBits([1, 2, 3, 0, 3], 'uint2'))).toEqual([0b00111001, 0b11]);
    expect(Array.from(packBits([-2, 1, -1, 0], 'int2'))).toEqual([0b00110110]);
  });

  it('pack/unpack round-trips every dtype (1,000 random arrays)', () => {
    const dtypes = Object.keys(QUANT_DTYPES) as QuantDType[];
    fc.assert(
      fc.property(fc.constantFrom(...dtypes), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }), (dtype, u) => {
        const { qmin, qmax } = QUANT_DTYPES[dtype];
        const ints = u.map((v) => Math.min(qmax, qmin + Math.floor(v * (qmax - qmin + 1))));
        const packed = packBits(ints, dtype);
        expect(packed.length).toBe(Math.ceil((ints.length * QUANT_DTYPES[dtype].bits) / 8));
        expect(Array.from(unpackBits(packed, dtype, ints.length))).toEqual(ints);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('rejects out-of-range integers', () => {
    expect(() => packBits([8], 'int4')).toThrow(InvalidArgumentError);
    expect(() => packBits([-1], 'uint2')).toThrow(InvalidArgumentError);
  });
});

describe('error bound and exact zero', () => {
  const dtypes = Object.keys(QUANT_DTYPES) as QuantDType[];
  const granularityArb = fc.oneof(
    fc.constant({ kind: 'tensor' as const }),
    fc.integer({ min: -2, max: 1 }).map((axis) => ({ kind: 'channel' as const, axis })),
    fc.constantFrom(1, 2, 4).map((size) => ({ kind: 'group' as const, size, axis: -1 })),
  );
  it('|dequant(quant(x)) − x| ≤ scale/2 for every element inside the range; 0 maps to 0 exactly (1,500 cases)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...dtypes),
        fc.boolean(),
        fc.boolean(),
        granularityArb,
        fc.array(fc.float({ min: -1000, max: 1000, noNaN: true }), { minLength: 8, maxLength: 8 }),
        fc.float({ min: Math.fround(1e-3), max: 100, noNaN: true }),
        (dtype, symmetric, narrowRange, granularity, raw, mag) => {
          const values = Float32Array.from(raw, (v, i) => (i === 3 ? 0 : v * mag));
          const q = quantizeAffine(values, { dtype, symmetric, narrowRange, granularity, shape: [2, 4] });
          const deq = dequantizeAffineValues(q);
          const { qmin, qmax } = quantRange(dtype, narrowRange);
          const layout = q.granularity;
          for (let i = 0; i < values.length; i++) {
            const p = layout.kind === 'tensor' ? 0 : layout.kind === 'channel' ? (layout.axis === 0 ? Math.floor(i / 4) : i % 4) : Math.floor(i / layout.size);
            const s = q.scale[p]!;
            const z = q.zeroPoint[p]!;
            const lo = (qmin - z) * s;
            const hi = (qmax - z) * s;
            if (values[i]! >= lo && values[i]! <= hi) expect(Math.abs(deq[i]! - values[i]!)).toBeLessThanOrEqual((s / 2) * (1 + 1e-5));
            else expect(deq[i]).toBe(values[i]! < lo ? Math.fround(lo) : Math.fround(hi)); // clamped to the range end
          }
          expect(deq[3]).toBe(0);
        },
      ),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('clamps values outside a given range to qmin/qmax', () => {
    const q = quantizeAffine([-100, -1, 0, 1, 100], { dtype: 'int4', scale: 0.25, zeroPoint: 0 });
    expect(Array.from(affineIntegers(q))).toEqual([-8, -4, 0, 4, 7]);
  });

  it('per-group along the last axis gives one scale per group per row', () => {
    const x = Float32Array.from({ length: 2 * 8 }, (_, i) => (i < 4 ? i : i < 8 ? 10 * i : -i));
    const q = quantizeAffine(x, { dtype: 'int4', symmetric: true, granularity: { kind: 'group', size: 4 }, shape: [2, 8] });
    expect(q.paramShape).toEqual([2, 2]);
    expect(q.scale[0]).toBeCloseTo(3 / 7.5, 6);
    expect(q.scale[1]).toBeCloseTo(70 / 7.5, 5);
    expect(() => quantizeAffine(x, { dtype: 'int4', granularity: { kind: 'group', size: 3 }, shape: [2, 8] })).toThrow(ShapeError);
    expect(affineStorageBytes(q)).toBe(8 + 16);
  });
});

describe('qparams', () => {
  it('widen the range to include 0 and fall back to eps for an all-zero input', () => {
    expect(computeQParams(2, 5, { dtype: 'uint8' })).toEqual({ scale: Math.fround(5 / 255), zeroPoint: 0 });
    expect(computeQParams(0, 0, { dtype: 'uint8' })).toEqual({ scale: 2 ** -23, zeroPoint: 0 });
    expect(computeQParams(-1, 3, { dtype: 'uint8', symmetric: true }).zeroPoint).toBe(128);
    expect(computeQParams(-1, 3, { dtype: 'int8', symmetric: true, narrowRange: true }).scale).toBe(Math.fround(3 / 127));
    expect(() => computeQParams(3, 1, { dtype: 'int8' })).toThrow(InvalidArgumentError);
  });
});

describe('tensors', () => {
  it('quantizes tensors and dequantizes to a tensor without leaking', async () => {
    await expectNoLeak(() => {
      const x = tensor([[0.1, -0.2, 0.3], [1, 2, -3]]);
      const q = quantizeAffine(x, { dtype: 'int8', granularity: { kind: 'channel', axis: 0 } });
      const y = dequantizeAffine(q);
      expect(y.shape).toEqual([2, 3]);
      const f = fakeQuantize(x, { dtype: 'uint4' });
      expect(Array.from(f.dataSync()).every((v, i) => Math.abs(v - x.dataSync()[i]!) <= 0.21)).toBe(true);
      x.dispose();
      y.dispose();
      f.dispose();
    });
    expect(tensorCount()).toBeGreaterThanOrEqual(0);
  });

  it('rejects NaN, bad shapes and bad scales with typed errors', () => {
    expect(() => quantizeAffine([NaN], { dtype: 'int8' })).toThrow(InvalidArgumentError);
    expect(() => quantizeAffine([1, 2, 3], { dtype: 'int8', shape: [2, 2] })).toThrow(ShapeError);
    expect(() => quantizeAffine([1], { dtype: 'int8', scale: 0 })).toThrow(InvalidArgumentError);
    expect(() => quantizeAffine([1], { dtype: 'int8', scale: 1, zeroPoint: 300 })).toThrow(InvalidArgumentError);
    expect(() => quantizeAffine([1], { dtype: 'int16' as QuantDType })).toThrow(InvalidArgumentError);
  });
});
