import { describe, expect, it } from 'vitest';
import { Rng, parseSafetensors, tensor, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Adam, Module, disposeGrads, valueAndGrads, type Parameter } from '@nutshell/nn';
import {
  QatFanInFanOut, QuantizedLinear, convertQat, dequantizeAffineValues, freezeObservers, prepareQat, dequantizeSafetensors, isFanInFanOutLayer, layerErrors,
  loadQuantizedModel, quantizeAffine, quantizeModel, saveQuantizedModel, sizeReport,
} from '@nutshell/quantize';

const rand = (n: number, seed: number, s = 0.1) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * s);
};

/** A minimal GPT-2 Conv1D: weight [in, out], y = x·W + b (quantize must not depend on transformer). */
class Conv1DLike extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly fanInFanOut = true;
  constructor(readonly nIn: number, readonly nOut: number, seed: number, bias = true) {
    super();
    this.weight = this.registerParameter('weight', tensor(rand(nIn * nOut, seed), [nIn, nOut]));
    this.bias = bias ? this.registerParameter('bias', tensor(rand(nOut, seed + 100), [nOut])) : null;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const y = tf.matMul(x, this.weight);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

class Net extends Module {
  readonly c_attn: Module;
  readonly c_proj: Module;
  constructor() {
    super();
    this.c_attn = this.registerModule('c_attn', new Conv1DLike(32, 48, 1));
    this.c_proj = this.registerModule('c_proj', new Conv1DLike(48, 16, 2, false));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => (this.c_proj as Conv1DLike).forward((this.c_attn as Conv1DLike).forward(x)));
  }
}

/** Plain JS x[B, in]·W[in, out] + b. */
function linearRef(x: Float32Array, B: number, w: Float32Array, nIn: number, nOut: number, b: Float32Array | null): Float32Array {
  const y = new Float32Array(B * nOut);
  for (let r = 0; r < B; r++) for (let o = 0; o < nOut; o++) {
    let s = b ? b[o]! : 0;
    for (let i = 0; i < nIn; i++) s += x[r * nIn + i]! * w[i * nOut + o]!;
    y[r * nOut + o] = s;
  }
  return y;
}
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const transposeJs = (w: Float32Array, rows: number, cols: number) => {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
};

describe('fan-in-fan-out (GPT-2 Conv1D) layers', () => {
  it('are recognised by flag and weight shape only', () => {
    const c = new Conv1DLike(4, 3, 9);
    expect(isFanInFanOutLayer(c)).toBe(true);
    expect(isFanInFanOutLayer({ fanInFanOut: true, weight: null })).toBe(false);
    expect(isFanInFanOutLayer({ fanInFanOut: false, weight: c.weight })).toBe(false);
    c.dispose();
  });

  it('int8 quantizeModel packs Wᵀ per output row and computes x·W + b like an independent reference', async () => {
    const net = new Net();
    const w0 = (net.c_attn as Conv1DLike).weight.dataSync().slice() as Float32Array;
    const b0 = (net.c_attn as Conv1DLike).bias!.dataSync().slice() as Float32Array;
    const fpBytes = sizeReport(net).weightBytes;
    expect(fpBytes).toBe(4 * (32 * 48 + 48 * 16));
    const float = new Net();
    const n0 = tf.memory().numTensors;
    const res = quantizeModel(net, 'int8');
    // The two float weights are freed; biases are copied over; no transposed temporaries are left.
    expect(tf.memory().numTensors - n0).toBe(-2);
    expect(res.replaced.map((r) => r.name)).toEqual(['c_attn', 'c_proj']);
    expect(res.replaced[0]).toMatchObject({ kind: 'linear', params: 32 * 48, bytesBefore: 4 * 32 * 48, bytesAfter: 32 * 48 + 48 * 4 });
    const q = net.getModule('c_attn') as QuantizedLinear;
    expect(q).toBeInstanceOf(QuantizedLinear);
    expect([q.inFeatures, q.outFeatures, q.fromFanInFanOut]).toEqual([32, 48, true]);
    expect(q.packedWeight.shape).toEqual([48, 32]);
    // Reference: affine int8 per row of the JS-transposed weight.
    const ref = quantizeAffine(transposeJs(w0, 32, 48), { dtype: 'int8', symmetric: true, shape: [48, 32], granularity: { kind: 'channel', axis: 0 } });
    const wq = transposeJs(dequantizeAffineValues(ref) as Float32Array, 48, 32); // back to [in, out]
    const x = rand(3 * 32, 7, 1);
    const xt = tensor(x, [3, 32]);
    await expectNoLeak(() => q.forward(xt));
    const y = q.forward(xt);
    const want = linearRef(x, 3, wq, 32, 48, b0);
    const got = await y.data();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    // And close to the float layer.
    const yf = float.getModule('c_attn').forward(xt) as Tensor;
    const fd = await yf.data();
    let m = 0;
    for (let i = 0; i < fd.length; i++) m = Math.max(m, Math.abs(fd[i]! - got[i]!));
    expect(m).toBeLessThan(0.02);
    // Per-layer weight errors compare in the same orientation (tiny for int8, not garbage).
    const errs = layerErrors(float, net);
    expect(errs).toHaveLength(2);
    for (const e of errs) expect(e.cosine).toBeGreaterThan(0.999);
    expect(sizeReport(net).weightBytes).toBe(32 * 48 + 48 * 4 + 48 * 16 + 16 * 4);
    tf.dispose([xt, y, yf]);
    net.dispose();
    float.dispose();
  });

  it('saves under P.weight_* (packed [out, in]) and loads into a fresh float model; dequantizes back to [in, out]', async () => {
    const net = new Net();
    const orig = (net.c_attn as Conv1DLike).weight.dataSync().slice() as Float32Array;
    quantizeModel(net, { default: { scheme: 'nf4', groupSize: 32, doubleQuant: true }, rules: [{ match: 'c_proj', scheme: 'int8' }] });
    const x = tensor(rand(2 * 32, 3, 1), [2, 32]);
    const before = net.forward(x);
    const bytes = saveQuantizedModel(net);
    const parsed = parseSafetensors(bytes);
    expect(Object.keys(parsed.tensors).sort()).toEqual([
      'c_attn.bias', 'c_attn.weight_absmax2', 'c_attn.weight_absmax_offset', 'c_attn.weight_absmax_q', 'c_attn.weight_packed',
      'c_proj.weight_packed', 'c_proj.weight_scale',
    ]);
    const meta = JSON.parse(parsed.metadata!['nutshell.quantization']!).tensors;
    expect(meta['c_attn.weight']).toMatchObject({ scheme: 'nf4', shape: [48, 32], layer: 'linear', fan_in_fan_out: true });
    expect(parsed.tensors['c_proj.weight_scale']!.shape).toEqual([16]); // one scale per output column of the [in, out] weight
    const fresh = new Net();
    const { replaced } = loadQuantizedModel(fresh, bytes);
    expect(replaced.sort()).toEqual(['c_attn', 'c_proj']);
    expect((fresh.getModule('c_attn') as QuantizedLinear).fromFanInFanOut).toBe(true);
    const after = fresh.forward(x);
    expect([...(await after.data())]).toEqual([...(await before.data())]);
    // Round trip of the round trip keeps the flag.
    expect(JSON.parse(parseSafetensors(saveQuantizedModel(fresh)).metadata!['nutshell.quantization']!).tensors['c_attn.weight'].fan_in_fan_out).toBe(true);
    const deq = dequantizeSafetensors(bytes);
    expect(deq['c_attn.weight']!.shape).toEqual([32, 48]);
    const d = deq['c_attn.weight']!.dataSync();
    let se = 0, ss = 0;
    for (let i = 0; i < d.length; i++) { se += (d[i]! - orig[i]!) ** 2; ss += orig[i]! ** 2; }
    expect(se / ss).toBeLessThan(0.02); // NF4 ≈ 20 dB SQNR on Gaussian weights; a wrong orientation gives ~2
    tf.dispose([x, before, after, ...Object.values(deq)]);
    net.dispose();
    fresh.dispose();
  });

  it('QAT: fake-quantizes Wᵀ per output column like an independent reference, trains, converts to an equal fromFanInFanOut int4 layer', async () => {
    const net = new Net();
    const x = tensor(rand(5 * 32, 9, 1), [5, 32]);
    const w0 = (net.c_attn as Conv1DLike).weight.dataSync().slice();
    const b0 = (net.c_attn as Conv1DLike).bias!.dataSync().slice();
    const names = net.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`);
    expect(prepareQat(net, { bits: 4 })).toEqual(['c_attn', 'c_proj']);
    const qa = net.c_attn as unknown as QatFanInFanOut;
    expect(qa).toBeInstanceOf(QatFanInFanOut);
    // Same parameter names and [in, out] layout as the source layers.
    expect(net.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`)).toEqual(names);
    // Reference: symmetric 4-bit, one scale per output column = max|W[:, o]| / 7, ties to even.
    const wq = new Float32Array(w0.length);
    for (let o = 0; o < 48; o++) {
      let m = 0;
      for (let i = 0; i < 32; i++) m = Math.max(m, Math.abs(w0[i * 48 + o]!));
      const sc = Math.fround(m / 7);
      const inv = Math.fround(1 / sc);
      for (let i = 0; i < 32; i++) {
        const v = Math.fround(w0[i * 48 + o]! * inv);
        const r = Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
        wq[i * 48 + o] = Math.fround(Math.max(-7, Math.min(7, r)) * sc);
      }
    }
    const got = qa.forward(x);
    const ref = linearRef(x.dataSync() as Float32Array, 5, wq, 32, 48, b0);
    expect(maxAbsDiff(await got.data(), ref)).toBeLessThan(1e-4);
    got.dispose();
    // Gradients reach the [in, out] weight through the straight-through estimator; the loss drops.
    const target = tensor(rand(5 * 16, 10, 1), [5, 16]);
    const opt = new Adam(net, { lr: 0.01 });
    let first = 0, last = 0;
    for (let i = 0; i < 10; i++) {
      const { value, grads } = valueAndGrads(() => tf.losses.meanSquaredError(target, net.forward(x)) as tf.Scalar, net);
      expect(grads.has(net.getParameter('c_attn.weight'))).toBe(true);
      opt.step(grads);
      disposeGrads(grads);
      if (i === 0) first = value.dataSync()[0]!;
      last = value.dataSync()[0]!;
      value.dispose();
    }
    opt.dispose();
    expect(last).toBeLessThan(first);
    net.eval();
    const fq = net.forward(x);
    expect(convertQat(net)).toEqual(['c_attn', 'c_proj']);
    const q = net.c_attn as unknown as QuantizedLinear;
    expect(q).toBeInstanceOf(QuantizedLinear);
    expect(q.fromFanInFanOut).toBe(true);
    expect(q.packedWeight.scheme).toBe('int4');
    expect(q.packedWeight.shape).toEqual([48, 32]);
    const out = net.forward(x);
    expect(maxAbsDiff(await out.data(), await fq.data())).toBeLessThan(1e-5);
    tf.dispose([x, target, fq, out]);
    net.dispose();
  });

  it('QAT on fan-in-fan-out layers leaks no tensors (prepare, forward, freeze, convert, dispose)', async () => {
    await expectNoLeak(() => {
      const net = new Net();
      const x = tensor(rand(3 * 32, 11, 1), [3, 32]);
      prepareQat(net, { bits: 4, method: 'lsq' });
      net.forward(x).dispose();
      freezeObservers(net);
      convertQat(net);
      net.forward(x).dispose();
      x.dispose();
      net.dispose();
    });
  });
});
