import { describe, expect, it } from 'vitest';
import { FormatError, Rng, parseSafetensors, saveSafetensors, tensor, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Conv2d, Embedding, Linear, MLP, Module, Sequential, SmallCNN } from '@nutshell/nn';
import {
  Nf4Linear, PackedWeight, QuantizedConv2d, QuantizedEmbedding, QuantizedLinear, RecipeError,
  dequantize4bitValues, dequantizeAffineValues, dequantizeSafetensors, dynamicQuantizeLinear,
  loadQuantizedModel, quantize4bit, quantizeAffine, quantizeModel, saveQuantizedModel,
} from '@nutshell/quantize';

const rand = (n: number, seed = 1, s = 0.1) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * s);
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('PackedWeight', () => {
  it('int8 per-channel equals the affine codec and stays within scale/2', () => {
    const w = rand(24 * 40);
    const pw = PackedWeight.quantize(w, { scheme: 'int8' }, [24, 40]);
    const ref = quantizeAffine(w, { dtype: 'int8', symmetric: true, shape: [24, 40], granularity: { kind: 'channel', axis: 0 } });
    const got = pw.dequantizeRange();
    expect([...got]).toEqual([...dequantizeAffineValues(ref)]);
    for (let i = 0; i < w.length; i++) expect(Math.abs(got[i]! - w[i]!)).toBeLessThanOrEqual(ref.scale[Math.floor(i / 40)]! / 2 + 1e-7); // + float32 rounding of w
    expect(pw.storageBytes()).toBe(24 * 40 + 24 * 4);
  });

  it('int4 group-wise (symmetric and asymmetric) equals the affine codec on [groups, g]', () => {
    const w = rand(8 * 64, 2);
    for (const symmetric of [true, false]) {
      const pw = PackedWeight.quantize(w, { scheme: 'int4', groupSize: 32, symmetric }, [8, 64]);
      const ref = quantizeAffine(w, { dtype: symmetric ? 'int4' : 'uint4', symmetric, shape: [16, 32], granularity: { kind: 'channel', axis: 0 } });
      expect([...pw.dequantizeRange()]).toEqual([...dequantizeAffineValues(ref)]);
      expect(pw.packed).toEqual(ref.data);
      expect(pw.storageBytes()).toBe(256 + 16 * 4 + (symmetric ? 0 : 16));
    }
    // A partial last group is padded, and ranges decode the same values.
    const odd = PackedWeight.quantize(rand(3 * 7, 3), { scheme: 'int4', groupSize: 4 }, [3, 7]);
    expect([...odd.dequantizeRange(5, 13)]).toEqual([...odd.dequantizeRange().subarray(5, 13)]);
  });

  it('nf4 + double quant equals bitsandbytes-style quantize4bit, ≈4.127 bits/param', () => {
    const w = rand(256 * 128, 4);
    const pw = PackedWeight.quantize(w, { scheme: 'nf4' }, [256, 128]);
    const ref = quantize4bit(w, { quantType: 'nf4', doubleQuant: true });
    expect(pw.packed).toEqual(ref.packed);
    expect([...pw.dequantizeRange()]).toEqual([...dequantize4bitValues(ref)]);
    expect(pw.bitsPerParameter()).toBeCloseTo(4 + 8 / 64 + 32 / (64 * 256) + 32 / w.length, 6);
    expect([...pw.dequantizeRange(63, 130)]).toEqual([...dequantize4bitValues(ref).subarray(63, 130)]);
  });

  it('rejects bad configs with typed errors', () => {
    expect(() => PackedWeight.quantize(rand(8), { scheme: 'int3' as never })).toThrow(/scheme/);
    expect(() => PackedWeight.quantize(rand(8), { scheme: 'nf4', groupSize: 3 })).toThrow(/even/);
    expect(() => PackedWeight.quantize([1, Number.NaN], { scheme: 'int8' })).toThrow(/finite/);
  });
});

describe('quantized modules', () => {
  it('QuantizedLinear / Nf4Linear compute x·dequant(W)ᵀ + b, give input gradients, no leaks', async () => {
    const lin = new Linear(64, 16, { seed: 1 });
    const x = tf.randomNormal([5, 64], 0, 1, 'float32', 3);
    for (const q of [QuantizedLinear.fromLinear(lin, { scheme: 'int8' }), QuantizedLinear.fromLinear(lin, { scheme: 'int4', groupSize: 32 }), Nf4Linear.fromLinear(lin)]) {
      const w = q.dequantizeWeight();
      const want = tf.add(tf.matMul(x, w, false, true), lin.bias!);
      const got = q.forward(x);
      expect(maxAbsDiff(await got.data(), await want.data())).toBeLessThan(1e-5);
      const ref = lin.forward(x);
      expect(maxAbsDiff(await got.data(), await ref.data())).toBeLessThan(q.packedWeight.scheme === 'int8' ? 0.02 : 0.3);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(q.forward(xx)))(x);
      const gwant = tf.tile(tf.sum(w, 0, true), [5, 1]);
      expect(maxAbsDiff(await g.data(), await gwant.data())).toBeLessThan(1e-4);
      tf.dispose([w, want, got, ref, g, gwant]);
      const x3 = tf.reshape(x, [5, 1, 64]);
      await expectNoLeak(() => q.forward(x3));
      x3.dispose();
      q.dispose();
    }
    expect(Nf4Linear.fromLinear(lin)).toBeInstanceOf(Nf4Linear);
    lin.dispose();
    x.dispose();
  });

  it('QuantizedConv2d matches the float conv with the dequantized weight; QuantizedEmbedding gathers rows', async () => {
    const conv = new Conv2d(3, 8, 3, { padding: 1, stride: 2, seed: 2 });
    const q = QuantizedConv2d.fromConv2d(conv, { scheme: 'int8' });
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 5);
    const w = q.dequantizeWeight();
    const want = conv.forwardWithWeight(x, w);
    const got = q.forward(x);
    expect(got.shape).toEqual(want.shape);
    expect(maxAbsDiff(await got.data(), await want.data())).toBeLessThan(1e-5);
    await expectNoLeak(() => q.forward(x));
    const emb = new Embedding(50, 16, { seed: 3, paddingIdx: 0 });
    const qe = QuantizedEmbedding.fromEmbedding(emb, { scheme: 'nf4', groupSize: 16 });
    const ids = tensor([[3, 0], [49, 3]], [2, 2], 'int32');
    const out = qe.forward(ids);
    const full = qe.dequantizeWeight();
    const ref = tf.gather(full, tf.tensor1d([3, 0, 49, 3], 'int32'));
    expect(out.shape).toEqual([2, 2, 16]);
    const o = await out.data();
    const r = await ref.data();
    // Row 0 is the padding index: zero output (its double-quantized absmax need not restore to 0).
    expect(maxAbsDiff(o.subarray(16, 32), new Float32Array(16))).toBe(0);
    expect(maxAbsDiff(o.subarray(0, 16), r.subarray(0, 16))).toBe(0);
    expect(maxAbsDiff(o.subarray(32), r.subarray(32))).toBe(0);
    expect(() => qe.forward(tensor([50], [1], 'int32'))).toThrow(/outside/);
    tf.dispose([x, w, want, got, ids, out, full, ref]);
    conv.dispose();
    q.dispose();
    emb.dispose();
  });
});

class Net extends Module {
  readonly emb = this.registerModule('emb', new Embedding(20, 32, { seed: 1 }));
  readonly body = this.registerModule('body', new Sequential(new Linear(32, 64, { seed: 2 }), new Linear(64, 64, { seed: 3 })));
  readonly head = this.registerModule('head', new Linear(64, 5, { seed: 4 }));
  forward(ids: tf.Tensor) {
    return tf.tidy(() => this.head.forward(this.body.forward(tf.mean(this.emb.forward(ids), 1))));
  }
}

describe('quantizeModel', () => {
  it('applies exact, regex, skip and default rules; reports bytes', () => {
    const net = new Net();
    const res = quantizeModel(net, {
      default: { scheme: 'int8' },
      rules: [{ match: /^body\.1$/, scheme: 'int4', groupSize: 32 }, { match: 'emb', scheme: 'nf4', groupSize: 32 }],
      skip: ['head'],
    });
    expect(net.getModule('body.0')).toBeInstanceOf(QuantizedLinear);
    expect((net.getModule('body.1') as QuantizedLinear).packedWeight.scheme).toBe('int4');
    expect((net.getModule('emb') as QuantizedEmbedding).packedWeight.scheme).toBe('nf4');
    expect(net.getModule('head')).toBeInstanceOf(Linear);
    expect(res.kept).toEqual(['head']);
    const b0 = res.replaced.find((r) => r.name === 'body.0')!;
    expect(b0).toMatchObject({ scheme: 'int8', params: 2048, bytesBefore: 8192, bytesAfter: 2048 + 64 * 4 });
    // stateDict keeps float params (biases, head), no packed weights.
    expect(Object.keys(net.stateDict()).sort()).toEqual(['body.0.bias', 'body.1.bias', 'head.bias', 'head.weight']);
    net.dispose();
  });

  it('leaves the model untouched and throws RecipeError for bad recipes', () => {
    const net = new Net();
    expect(() => quantizeModel(net, { default: { scheme: 'int5' as never } })).toThrow(RecipeError);
    expect(() => quantizeModel(net, { rules: [{ match: 'body.7', scheme: 'int8' }] })).toThrow(/no quantizable layer named 'body.7'/);
    expect(() => quantizeModel(net, { default: 'int8', bits: 3 } as never)).toThrow(/unknown key 'bits'/);
    expect(() => quantizeModel(net, { default: { scheme: 'nf4', symmetric: false } })).toThrow(RecipeError);
    expect(() => quantizeModel(net, { default: { scheme: 'int4', activation: 'dynamic' } })).toThrow(/int8/);
    expect(net.getModule('body.0')).toBeInstanceOf(Linear);
    net.dispose();
  });

  it('saves packed weights + scales to safetensors and loads them into a fresh float model', async () => {
    const net = new Net();
    quantizeModel(net, { default: 'int8', rules: [{ match: 'body.1', scheme: 'int4', symmetric: false }, { match: 'head', scheme: 'nf4', groupSize: 64 }, { match: 'emb', scheme: 'int8' }] });
    const ids = tensor([[1, 2, 3], [4, 5, 19]], [2, 3], 'int32');
    const before = net.forward(ids);
    const bytes = saveQuantizedModel(net);
    const parsed = parseSafetensors(bytes);
    const keys = Object.keys(parsed.tensors).sort();
    expect(keys).toEqual([
      'body.0.bias', 'body.0.weight_packed', 'body.0.weight_scale',
      'body.1.bias', 'body.1.weight_packed', 'body.1.weight_scale', 'body.1.weight_zero_point',
      'emb.weight_packed', 'emb.weight_scale',
      'head.bias', 'head.weight_absmax2', 'head.weight_absmax_offset', 'head.weight_absmax_q', 'head.weight_packed',
    ]);
    expect(parsed.tensors['body.0.weight_packed']!.dtype).toBe('U8');
    expect(JSON.parse(parsed.metadata!['nutshell.quantization']!).tensors['head.weight']).toMatchObject({ scheme: 'nf4', shape: [5, 64], groupSize: 64, doubleQuant: true, layer: 'linear' });
    const fresh = new Net();
    const { replaced } = loadQuantizedModel(fresh, bytes);
    expect(replaced.sort()).toEqual(['body.0', 'body.1', 'emb', 'head']);
    const after = fresh.forward(ids);
    expect(maxAbsDiff(await after.data(), await before.data())).toBe(0);
    // Generic dequantization gives float tensors under the original keys.
    const deq = dequantizeSafetensors(bytes);
    expect(deq['head.weight']!.shape).toEqual([5, 64]);
    tf.dispose([ids, before, after, ...Object.values(deq)]);
    net.dispose();
    fresh.dispose();
  });

  it('rejects malformed quantized files with FormatError', () => {
    const net = new Net();
    quantizeModel(net, 'int8');
    const good = parseSafetensors(saveQuantizedModel(net));
    const rebuild = (mut: (t: Record<string, unknown>, m: Record<string, string>) => void) => {
      const t: Record<string, unknown> = { ...good.tensors };
      const m = { ...good.metadata! };
      mut(t, m);
      return saveSafetensors(t as never, { metadata: m });
    };
    const cases = [
      rebuild((t) => delete t['body.0.weight_scale']),
      rebuild((t) => { t['body.0.weight_packed'] = { dtype: 'U8', shape: [3], data: new Uint8Array(3) }; }),
      rebuild((_t, m) => { m['nutshell.quantization'] = '{not json'; }),
      rebuild((_t, m) => { m['nutshell.quantization'] = JSON.stringify({ format_version: 1, tensors: { 'nope.weight': { scheme: 'int8', shape: [2, 2], groupSize: 2, symmetric: true, doubleQuant: false } } }); }),
      rebuild((_t, m) => { m['nutshell.quantization'] = JSON.stringify({ format_version: 1, tensors: { 'body.0.weight': { scheme: 'int9', shape: [64, 32], groupSize: 32, symmetric: true, doubleQuant: false } } }); }),
    ];
    for (const bytes of cases) expect(() => loadQuantizedModel(new Net(), bytes)).toThrow(FormatError);
    net.dispose();
  });
});

describe('dynamic quantization', () => {
  it('DynamicQuantizeLinear matches the ONNX spec example and a float32 restatement', async () => {
    const { y, scale, zeroPoint } = dynamicQuantizeLinear(tensor([0, 2, -3, -2.5, 1.34, 0.5]));
    expect([...(await y.data())]).toEqual([153, 255, 0, 26, 221, 179]);
    expect((await scale.data())[0]).toBeCloseTo(0.0196078438, 9);
    expect((await zeroPoint.data())[0]).toBe(153);
    tf.dispose([y, scale, zeroPoint]);
    const f = Math.fround;
    const rhe = (v: number) => { const r = Math.round(v); return r - v === 0.5 && r % 2 ? r - 1 : r; };
    const sat = (v: number) => Math.min(255, Math.max(0, v));
    const r = new Rng(9);
    for (let t = 0; t < 20; t++) {
      const xs = Float32Array.from({ length: 37 }, () => f(r.normal() * 3 + (t % 3) - 1));
      const mn = Math.min(0, ...xs);
      const mx = Math.max(0, ...xs);
      const s = f(f(mx - mn) / 255);
      const zp = sat(rhe(f(-mn / s)));
      const want = Array.from(xs, (v) => sat(rhe(f(v / s)) + zp));
      const out = dynamicQuantizeLinear(tensor(xs));
      expect([...(await out.y.data())]).toEqual(want);
      expect((await out.scale.data())[0]).toBe(s);
      expect((await out.zeroPoint.data())[0]).toBe(zp);
      tf.dispose([out.y, out.scale, out.zeroPoint]);
    }
    const z = dynamicQuantizeLinear(tf.zeros([4]));
    expect([...(await z.y.data())]).toEqual([0, 0, 0, 0]);
    tf.dispose([z.y, z.scale, z.zeroPoint]);
    const small = tensor([1, -1]);
    await expectNoLeak(() => dynamicQuantizeLinear(small));
    small.dispose();
  });

  it('quantizeModel with activation: dynamic runs int8 weights × per-call uint8 activations', async () => {
    const mlp = new MLP({ sizes: [16, 32, 4], seed: 5 });
    const x = tf.randomNormal([8, 16], 0, 1, 'float32', 2);
    const ref = mlp.forward(x);
    quantizeModel(mlp, { default: { scheme: 'int8', activation: 'dynamic' } });
    expect((mlp.getModule('0') as QuantizedLinear).activation.mode).toBe('dynamic');
    const got = mlp.forward(x);
    const err = maxAbsDiff(await got.data(), await ref.data());
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.05);
    const fresh = new MLP({ sizes: [16, 32, 4], seed: 0 });
    loadQuantizedModel(fresh, saveQuantizedModel(mlp));
    expect((fresh.getModule('2') as QuantizedLinear).activation.mode).toBe('dynamic');
    tf.dispose([x, ref, got]);
    mlp.dispose();
    fresh.dispose();
  });

  it('a SmallCNN quantizes conv and linear layers', async () => {
    const cnn = new SmallCNN({ seed: 1, channels: [4, 8], hidden: 16 });
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 1);
    const ref = cnn.forward(x);
    const res = quantizeModel(cnn, 'int8');
    expect(res.replaced.map((r) => r.kind)).toEqual(['conv2d', 'conv2d', 'linear', 'linear']);
    const got = cnn.forward(x);
    expect(maxAbsDiff(await got.data(), await ref.data())).toBeLessThan(0.05);
    tf.dispose([x, ref, got]);
    cnn.dispose();
  });
});
