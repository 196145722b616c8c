import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, Rng, tensor, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak, measureTensors } from '@nutshell/core/testing';
import { Conv2d, Linear, MLP, Module, Sequential } from '@nutshell/nn';
import {
  PackedWeight, QuantizedConv2d, QuantizedLinear, quantizeModel, releaseWeightCaches, setWeightCache, sizeReport, weightCacheBytes,
  type WeightCacheMode, type WeightScheme,
} from '@nutshell/quantize';

const rand = (n: number, seed = 1, s = 0.1) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * s);
};
const run = (m: Module, x: Tensor) => {
  const y = m.forward(x) as Tensor;
  const v = y.dataSync().slice();
  y.dispose();
  return v;
};

/** A GPT-2 Conv1D stand-in: weight [in, out], y = x·W + b. */
class FakeConv1D extends Module {
  readonly fanInFanOut = true as const;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(nIn: number, nOut: number, seed: number) {
    super();
    this.weight = this.registerParameter('weight', tensor(rand(nIn * nOut, seed), [nIn, nOut]));
    this.bias = this.registerParameter('bias', tensor(rand(nOut, seed + 1), [nOut]));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(tf.matMul(x, this.weight), this.bias));
  }
}

describe('dequantized-weight cache', () => {
  const x = tensor(rand(5 * 48, 9, 1), [5, 48]);

  it('gives bit-identical outputs with the cache on, off and auto (Linear, Conv1D, every scheme)', () => {
    for (const scheme of ['int8', 'int4', 'nf4', 'fp4'] as WeightScheme[]) {
      for (const fifo of [false, true]) {
        const outs = (['off', 'on', 'auto'] as WeightCacheMode[]).map((mode) => {
          const model = new Sequential(fifo ? new FakeConv1D(48, 24, 3) : new Linear(48, 24, { seed: 3 }));
          quantizeModel(model, { default: { scheme } });
          setWeightCache(model, mode);
          model.eval();
          const first = run(model, x);
          const second = run(model, x); // from the cache when one is kept
          expect([...second]).toEqual([...first]);
          model.dispose();
          return first;
        });
        expect([...outs[1]!]).toEqual([...outs[0]!]);
        expect([...outs[2]!]).toEqual([...outs[0]!]);
      }
    }
  });

  it('matches the dequantized weight (an independent matMul) for a Conv1D replacement', () => {
    const model = new Sequential(new FakeConv1D(48, 24, 5));
    quantizeModel(model, 'int8');
    const q = model.getModule('0') as QuantizedLinear;
    const w = q.dequantizeWeight(); // [out, in]
    const ref = tf.tidy(() => tf.add(tf.matMul(x, w, false, true), q.bias!).dataSync().slice());
    w.dispose();
    model.eval();
    const got = run(model, x);
    for (let i = 0; i < ref.length; i++) expect(got[i]!).toBeCloseTo(ref[i]!, 5);
    model.dispose();
  });

  it('dequantizes once with the cache and in every forward without it', () => {
    const spy = vi.spyOn(PackedWeight.prototype, 'dequantizeRange');
    try {
      for (const [mode, calls] of [['on', 2], ['off', 2 * 4]] as const) {
        const model = new MLP({ sizes: [48, 32, 8], seed: 0 });
        quantizeModel(model, 'int8');
        setWeightCache(model, mode);
        spy.mockClear();
        for (let i = 0; i < 4; i++) run(model, x);
        expect(spy).toHaveBeenCalledTimes(calls);
        model.dispose();
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('auto caches in eval mode only and frees the cache on a training forward', () => {
    const model = new MLP({ sizes: [48, 32, 8], seed: 0 });
    quantizeModel(model, 'nf4');
    expect(weightCacheBytes(model)).toBe(0);
    model.eval();
    run(model, x);
    expect(weightCacheBytes(model)).toBe(4 * (48 * 32 + 32 * 8));
    model.train();
    run(model, x);
    expect(weightCacheBytes(model)).toBe(0);
    model.dispose();
  });

  it('sizeReport shows stored bytes and resident cache bytes separately', () => {
    const model = new MLP({ sizes: [48, 32, 8], seed: 0 });
    quantizeModel(model, 'int8');
    const cold = sizeReport(model);
    expect(cold.cacheBytes).toBe(0);
    expect(cold.residentBytes).toBe(cold.totalBytes);
    model.eval();
    run(model, x);
    const warm = sizeReport(model);
    // Stored bytes do not change; the cache is 4 bytes per cached parameter on top.
    expect(warm.weightBytes).toBe(cold.weightBytes);
    expect(warm.weightBytes).toBe(48 * 32 + 32 * 4 + 32 * 8 + 8 * 4);
    expect(warm.cacheBytes).toBe(4 * (48 * 32 + 32 * 8));
    expect(warm.residentBytes).toBe(warm.totalBytes + warm.cacheBytes);
    expect(warm.layers.map((l) => l.cacheBytes)).toEqual([4 * 48 * 32, 4 * 32 * 8]);
    expect(releaseWeightCaches(model)).toBe(warm.cacheBytes);
    expect(sizeReport(model).cacheBytes).toBe(0);
    model.dispose();
  });

  it('leaks nothing: forwards in every mode, and the cache is freed by a parent dispose()', async () => {
    for (const mode of ['off', 'on', 'auto'] as WeightCacheMode[]) {
      await expectNoLeak(() => {
        const model = new MLP({ sizes: [48, 32, 8], seed: 0 });
        quantizeModel(model, 'int4');
        setWeightCache(model, mode);
        model.eval();
        for (let i = 0; i < 3; i++) model.forward(x).dispose();
        model.dispose(); // the root's dispose must reach the layers' caches
      }, `cache ${mode}`);
    }
    // The cache is one tensor that outlives the forward until released.
    const model = new MLP({ sizes: [48, 32, 8], seed: 0 });
    quantizeModel(model, 'int8');
    setWeightCache(model, 'on');
    const r = await measureTensors(() => model.forward(x).dispose());
    expect(r.leaked).toBe(2);
    await expectNoLeak(() => model.forward(x)); // reused, not rebuilt
    const r2 = await measureTensors(() => releaseWeightCaches(model));
    expect(r2.leaked).toBe(-2);
    model.dispose();
  });

  it('is invalidated when the packed weight is replaced or modified in place', () => {
    const w1 = rand(24 * 48, 11);
    const w2 = rand(24 * 48, 12);
    const q = new QuantizedLinear(48, 24, PackedWeight.quantize(w1, { scheme: 'int8' }, [24, 48]), null, { weightCache: 'on' });
    const ref = (pw: PackedWeight) => {
      const probe = new QuantizedLinear(48, 24, pw, null, { weightCache: 'off' });
      const v = run(probe, x);
      probe.dispose();
      return [...v];
    };
    const a = run(q, x);
    expect([...a]).toEqual(ref(q.packedWeight));
    const p2 = PackedWeight.quantize(w2, { scheme: 'int8' }, [24, 48]);
    q.setPackedWeight(p2);
    expect([...run(q, x)]).toEqual(ref(p2));
    // In-place edit: flip the sign of every code, then markModified.
    const codes = new Int8Array(p2.packed.buffer, p2.packed.byteOffset, p2.packed.length);
    for (let i = 0; i < codes.length; i++) codes[i] = -codes[i]!;
    const stale = run(q, x);
    p2.markModified();
    const fresh = run(q, x);
    expect([...fresh]).toEqual(ref(p2));
    expect([...fresh]).not.toEqual([...stale]);
    expect(() => q.setPackedWeight(PackedWeight.quantize(rand(10), { scheme: 'int8' }, [2, 5]))).toThrow(InvalidArgumentError);
    expect(() => { q.weightCache = 'sometimes' as WeightCacheMode; }).toThrow(InvalidArgumentError);
    q.weightCache = 'off';
    expect(q.cacheBytes).toBe(0);
    q.dispose();
  });

  it('lends its cached weight to fused kernels (denseWeight) only when forward is a plain x·W + b', () => {
    for (const fanInFanOut of [false, true]) {
      const base = fanInFanOut ? new FakeConv1D(48, 24, 3) : new Linear(48, 24, { seed: 3 });
      const q = fanInFanOut
        ? QuantizedLinear.fromWeight(tf.transpose((base as FakeConv1D).weight), (base as FakeConv1D).bias, { scheme: 'int8' }, { fromFanInFanOut: true })
        : QuantizedLinear.fromLinear(base as Linear, { scheme: 'int8' });
      q.eval();
      const lent = q.denseWeight()!;
      expect(lent.transposed).toBe(!fanInFanOut);
      // The lent weight, applied as declared, reproduces forward exactly.
      const y = tf.tidy(() => tf.add(tf.matMul(x, lent.weight, false, lent.transposed), lent.bias!));
      expect(Array.from(y.dataSync())).toEqual(Array.from(run(q, x)));
      y.dispose();
      expect(q.denseWeight()!.weight).toBe(lent.weight); // the cache itself, not a copy
      q.weightCache = 'off';
      expect(q.denseWeight()).toBeUndefined();
      q.weightCache = 'auto';
      q.train();
      expect(q.denseWeight()).toBeUndefined();
      q.dispose();
      base.dispose();
    }
    const dyn = QuantizedLinear.fromLinear(new Linear(48, 24, { seed: 4 }), { scheme: 'int8' }, { activation: { mode: 'dynamic' } });
    dyn.eval();
    expect(dyn.denseWeight()).toBeUndefined();
    dyn.dispose();
  });

  it('QuantizedConv2d: cached and uncached outputs are identical', () => {
    const xi = tensor(rand(2 * 8 * 8 * 3, 4, 1), [2, 8, 8, 3]); // NHWC, nn's default
    const outs = (['off', 'on'] as WeightCacheMode[]).map((mode) => {
      const conv = new Conv2d(3, 6, 3, { padding: 1, seed: 2 });
      const q = QuantizedConv2d.fromConv2d(conv, { scheme: 'int4', groupSize: 9 }, { weightCache: mode });
      conv.dispose();
      const a = run(q, xi);
      const b = run(q, xi);
      expect([...b]).toEqual([...a]);
      expect(q.cacheBytes).toBe(mode === 'on' ? 4 * 6 * 3 * 9 : 0);
      q.dispose();
      expect(q.cacheBytes).toBe(0);
      return a;
    });
    expect([...outs[1]!]).toEqual([...outs[0]!]);
    xi.dispose();
  });
});
