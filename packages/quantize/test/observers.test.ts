import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Rng, ShapeError, tensor, tensorCount } from '@nutshell/core';
import {
  EntropyObserver,
  Histogram,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  MseObserver,
  PercentileObserver,
  affineIntegers,
  calibrate,
  dequantizeAffineValues,
  entropyThresholdBin,
  quantizeAffine,
  type Observer,
} from '@nutshell/quantize';

interface ObserverCase {
  observer: 'minmax' | 'moving-average';
  dtype: 'int8' | 'uint8';
  symmetric: boolean;
  axis?: number;
  shape?: number[];
  averagingConstant?: number;
  batches: number[][];
  scale: number[];
  zeroPoint: number[];
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/affine.json', import.meta.url), 'utf8')) as {
  observers: ObserverCase[];
  entropy: { label: string; numBits: number; hist: number[]; bin: number }[];
};

function normal(n: number, seed: string, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

describe('observers match PyTorch', () => {
  it(`MinMax, PerChannelMinMax and MovingAverageMinMax qparams (${fixtures.observers.length} cases)`, () => {
    for (const c of fixtures.observers) {
      const options = { dtype: c.dtype, symmetric: c.symmetric, axis: c.axis };
      const o = c.observer === 'minmax' ? new MinMaxObserver(options) : new MovingAverageMinMaxObserver({ ...options, averagingConstant: c.averagingConstant });
      for (const b of c.batches) o.observe(Float32Array.from(b), c.shape);
      const qp = o.qparams();
      expect(Array.from(qp.scale), `${c.observer} ${c.dtype} sym=${c.symmetric} axis=${c.axis}`).toEqual(c.scale.map(Math.fround));
      expect(Array.from(qp.zeroPoint)).toEqual(c.zeroPoint);
    }
  });
});

describe('histogram', () => {
  it('grows by doubling and keeps every count', () => {
    const h = new Histogram(8);
    h.add(Float32Array.of(0, 0, 1, -1));
    expect(h.range).toBe(1);
    h.add(Float32Array.of(3.5, -0.25));
    expect(h.range).toBe(4);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(6);
    const folded = h.folded();
    expect(folded[0]).toBe(3); // 0, 0 and −0.25 (bin width 0.5)
    expect(folded[1]).toBe(2); // ±1: a value equal to the range sits in the last bin, which halves with each doubling
    expect(folded[7]).toBe(1); // 3.5
  });
});

describe('entropy calibration matches the TensorRT algorithm (numpy/scipy restatement)', () => {
  for (const e of fixtures.entropy) {
    it(`${e.label}: winning bin ${e.bin}`, () => {
      const levels = 2 ** (e.numBits - 1);
      expect(entropyThresholdBin(Float64Array.from(e.hist), levels, levels)).toBe(e.bin);
    });
  }
});

describe('histogram observers', () => {
  const x = normal(20000, 'obs');
  x[17] = 60; // one outlier
  it('percentile and entropy clip the outlier, min-max keeps it, MSE beats min-max', async () => {
    const observers: Observer[] = [
      new MinMaxObserver({ dtype: 'int8', symmetric: true }),
      new PercentileObserver({ dtype: 'int8', symmetric: true, percentile: 99.9 }),
      new EntropyObserver({ dtype: 'int8', symmetric: true }),
      new MseObserver({ dtype: 'int8', symmetric: true }),
    ];
    const [minmax, pct, ent, mse] = await calibrate(observers, [x.subarray(0, 10000), x.subarray(10000)]);
    expect(minmax!.scale[0]).toBeCloseTo(60 / 127.5, 5);
    // The 99.9th percentile of |N(0,1)| is 3.29.
    expect(pct!.scale[0]! * 127.5).toBeGreaterThan(3.0);
    expect(pct!.scale[0]! * 127.5).toBeLessThan(3.7);
    expect(ent!.scale[0]).toBeLessThan(minmax!.scale[0]! / 3);
    const err = (scale: number) => {
      const q = quantizeAffine(x, { dtype: 'int8', scale, zeroPoint: 0 });
      const d = dequantizeAffineValues(q);
      return d.reduce((s, v, i) => s + (v - x[i]!) ** 2, 0);
    };
    expect(err(mse!.scale[0]!)).toBeLessThan(err(minmax!.scale[0]!));
  });

  it('asymmetric percentile follows each tail; percentile 100 equals min-max', () => {
    const y = Float32Array.from(normal(5000, 'asym'), (v) => v + 3);
    const p = new PercentileObserver({ dtype: 'uint8', percentile: 100 });
    p.observe(y);
    const mm = new MinMaxObserver({ dtype: 'uint8' });
    mm.observe(y);
    const a = p.range();
    const b = mm.range();
    expect(a.max[0]).toBeCloseTo(b.max[0]!, 5);
    expect(a.min[0]).toBeCloseTo(b.min[0]!, 5);
  });

  it('all-zero data gives the eps scale', () => {
    const o = new EntropyObserver({ dtype: 'int8', symmetric: true });
    o.observe(new Float32Array(10));
    expect(o.qparams().scale[0]).toBe(2 ** -23);
  });
});

describe('calibrate', () => {
  it('accepts generators and async iterables of tensors, respects maxBatches, leaks nothing', async () => {
    const before = tensorCount();
    const batches = [tensor([1, 2, 3]), tensor([-4, 0, 2]), tensor([100, 100, 100])];
    async function* stream() {
      for (const b of batches) yield b;
    }
    const seen: number[] = [];
    const qp = await calibrate(new MinMaxObserver({ dtype: 'int8', symmetric: true }), stream(), { maxBatches: 2, onBatch: (i) => seen.push(i) });
    expect(seen).toEqual([0, 1]);
    expect(qp.scale[0]).toBe(Math.fround(4 / 127.5));
    const perChannel = await calibrate(new MinMaxObserver({ dtype: 'uint8', axis: 1 }), [tensor([[1, -2], [3, 4]])].values());
    expect(perChannel.scale.length).toBe(2);
    expect(perChannel.granularity).toEqual({ kind: 'channel', axis: 1 });
    const q = quantizeAffine(tensor([[1, -2], [3, 4]]), { dtype: 'uint8', ...perChannel });
    expect(Array.from(affineIntegers(q))).toEqual([85, 0, 255, 255]);
    batches.forEach((b) => b.dispose());
    expect(tensorCount()).toBe(before + 2); // the two inline tensors above are the caller's
  });

  it('reports typed errors', async () => {
    await expect(calibrate(new MinMaxObserver({ dtype: 'int8' }), [])).rejects.toThrow(InvalidArgumentError);
    await expect(calibrate([], [[1]])).rejects.toThrow(InvalidArgumentError);
    expect(() => new MinMaxObserver({ dtype: 'int8' }).qparams()).toThrow(InvalidArgumentError);
    const o = new MinMaxObserver({ dtype: 'int8', axis: 0 });
    o.observe([1, 2], [2]);
    expect(() => o.observe([1, 2, 3], [3])).toThrow(ShapeError);
    expect(() => new MovingAverageMinMaxObserver({ dtype: 'int8', averagingConstant: 2 })).toThrow(InvalidArgumentError);
    expect(() => new PercentileObserver({ dtype: 'int8', percentile: 0 })).toThrow(InvalidArgumentError);
  });
});
