import { tf, type Tensor, type Variable } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Conv2d, Embedding, Module, valueAndGrads } from '@nutshell/nn';
import { LoraConv2d, LoraEmbedding, LoraModel, mergeAdapterIntoWeights, type LoraLayer } from '@nutshell/finetune-lora';
import { describe, expect, it } from 'vitest';
import { maxDiff } from './helpers.js';

/** One Conv2d (padding 1) as a model, NHWC or NCHW. */
class OneConv extends Module {
  constructor(format: 'NHWC' | 'NCHW', inC = 2, outC = 3) {
    super();
    this.registerModule('conv', new Conv2d(inC, outC, 3, { padding: 1, seed: 4, dataFormat: format }));
  }
  forward(x: Tensor): Tensor {
    return this.getModule('conv').forward(x) as Tensor;
  }
}

class OneEmbedding extends Module {
  constructor(num = 7, dim = 4) {
    super();
    this.registerModule('emb', new Embedding(num, dim, { seed: 5 }));
  }
  forward(ids: Tensor): Tensor {
    return this.getModule('emb').forward(ids) as Tensor;
  }
}

/** Scales a DoRA magnitude away from its init so that k = m/‖W‖ ≠ 1 and merges are not trivial. */
function perturbMagnitude(l: LoraLayer, seed: number): void {
  const m = l.magnitudeOf('default')!;
  tf.tidy(() => m.assign(tf.mul(m, tf.add(1, tf.mul(0.3, tf.randomNormal(m.shape, 0, 1, 'float32', seed))))));
}

// Independent references, written from the DoRA definition: W' = m / ‖W0 + ΔW‖ ⊙ (W0 + ΔW), the norm
// taken per conv output channel (over in×kh×kw) or per embedding column. `norm` overrides the norm
// (for finite differences with the norm held fixed, as DoRA's detached gradient assumes).
function convRefWeight(W0: Tensor, A: Tensor, B: Tensor, m: Tensor, s: number, norm?: Tensor): { W: Tensor; n: Tensor } {
  return tf.tidy(() => {
    const [out, inC, kh, kw] = W0.shape as number[];
    const r = A.shape[0]!;
    const V = tf.add(W0, tf.reshape(tf.mul(tf.matMul(tf.reshape(B, [out!, r]), tf.reshape(A, [r, -1])), s), [out!, inC!, kh!, kw!]));
    const n = norm ?? tf.sqrt(tf.sum(tf.square(tf.reshape(V, [out!, -1])), 1));
    return { W: tf.mul(tf.reshape(tf.div(tf.reshape(m, [-1]), n), [out!, 1, 1, 1]), V), n };
  });
}

/** PyTorch-layout conv (padding 1, stride 1) via tf.conv2d on NHWC. */
const convNHWC = (x: Tensor, W: Tensor, bias: Tensor | null) =>
  tf.tidy(() => {
    const y = tf.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D, tf.transpose(W, [2, 3, 1, 0]) as tf.Tensor4D, 1, 'valid');
    return bias ? tf.add(y, bias) : y;
  });

function embRefWeight(W0: Tensor, A: Tensor, B: Tensor, m: Tensor, s: number, norm?: Tensor): { W: Tensor; n: Tensor } {
  return tf.tidy(() => {
    const V = tf.add(W0, tf.mul(tf.transpose(tf.matMul(B, A)), s));
    const n = norm ?? tf.sqrt(tf.sum(tf.square(V), 0));
    return { W: tf.mul(tf.reshape(tf.div(m, n), [1, -1]), V), n };
  });
}

/** Central differences of loss(values) with respect to each entry of values[i], one tensor at a time. */
function finiteDiff(loss: (vals: Tensor[]) => number, vals: Tensor[], i: number, eps = 1e-2): Float32Array {
  const base = vals[i]!.dataSync().slice();
  const g = new Float32Array(base.length);
  for (let j = 0; j < base.length; j++) {
    const at = (d: number) => {
      const v = base.slice();
      v[j]! += d;
      const t = tf.tensor(v, vals[i]!.shape);
      const copy = vals.slice();
      copy[i] = t;
      const out = loss(copy);
      t.dispose();
      return out;
    };
    g[j] = (at(eps) - at(-eps)) / (2 * eps);
  }
  return g;
}

const relErr = (a: Float32Array | Uint8Array | Int32Array, b: Float32Array) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-6);
};

describe('DoRA on Conv2d and Embedding', () => {
  it('magnitudes start at PEFT norms ([1, out, 1, 1] per filter, [dim] per embedding column); output equals the base', () => {
    const conv = new OneConv('NHWC', 3, 5);
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 1);
    const y0 = conv.forward(x);
    const W0 = tf.clone((conv.getModule('conv') as Conv2d).weight);
    const lc = new LoraModel(conv, { r: 2, use_dora: true, target_modules: ['conv'] });
    const l = conv.getModule('conv') as LoraConv2d;
    const m = l.magnitudeOf('default')!;
    expect(m.shape).toEqual([1, 5, 1, 1]);
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.reshape(W0, [5, -1])), 1)));
    expect(maxDiff(tf.reshape(m, [5]), norms)).toBeLessThan(1e-6);
    const y = lc.forward(x);
    expect(maxDiff(y, y0)).toBeLessThan(1e-5);

    const emb = new OneEmbedding(7, 4);
    const ids = tf.tensor2d([[0, 3, 6], [2, 2, 5]], [2, 3], 'int32');
    const e0 = emb.forward(ids);
    const E0 = tf.clone((emb.getModule('emb') as Embedding).weight);
    const le = new LoraModel(emb, { r: 2, use_dora: true, target_modules: ['emb'] });
    const me = (emb.getModule('emb') as LoraEmbedding).magnitudeOf('default')!;
    expect(me.shape).toEqual([4]);
    const cols = tf.tidy(() => tf.sqrt(tf.sum(tf.square(E0), 0)));
    expect(maxDiff(me, cols)).toBeLessThan(1e-6);
    const e = le.forward(ids);
    expect(maxDiff(e, e0)).toBeLessThan(1e-6);
    expect(le.trainableParameters().trainable).toBe(2 * (7 + 4) + 4);
    tf.dispose([x, y0, W0, norms, y, ids, e0, E0, cols, e]);
  });

  for (const format of ['NHWC', 'NCHW'] as const) {
    it(`Conv2d (${format}): forward matches the merged-weight reference; merge/unmerge exact within 1e-5`, () => {
      const conv = new OneConv(format, 3, 4);
      const lora = new LoraModel(conv, { r: 2, lora_alpha: 3, use_dora: true, target_modules: ['conv'], init_lora_weights: false });
      const l = conv.getModule('conv') as LoraConv2d;
      perturbMagnitude(l, 7);
      const base = l.baseLayer;
      const xh = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 2);
      const x = format === 'NHWC' ? xh : tf.transpose(xh, [0, 3, 1, 2]);
      const { A, B } = l.tensorsOf('default');
      const ref = convRefWeight(base.weight, A, B, l.magnitudeOf('default')!, 1.5);
      const yRefH = convNHWC(xh, ref.W, base.bias);
      const yRef = format === 'NHWC' ? yRefH : tf.transpose(yRefH, [0, 3, 1, 2]);
      const y = lora.forward(x);
      const scale = tf.max(tf.abs(yRef)).dataSync()[0]!;
      expect(maxDiff(y, yRef) / scale).toBeLessThan(1e-5);
      const w0 = tf.clone(base.weight);
      lora.merge();
      expect(maxDiff(base.weight, ref.W)).toBeLessThan(1e-5);
      const ym = lora.forward(x);
      expect(maxDiff(ym, y)).toBeLessThan(1e-5 * Math.max(1, scale));
      lora.unmerge();
      expect(maxDiff(base.weight, w0)).toBeLessThan(1e-5);
      const yu = lora.forward(x);
      expect(maxDiff(yu, y)).toBeLessThan(1e-5);
      tf.dispose([xh, x, ref.W, ref.n, yRefH, yRef, y, w0, ym, yu]);
    });
  }

  it('Embedding: forward matches the merged-weight reference; merge/unmerge exact within 1e-5', () => {
    const emb = new OneEmbedding(9, 6);
    const lora = new LoraModel(emb, { r: 3, lora_alpha: 6, use_dora: true, target_modules: ['emb'], init_lora_weights: false });
    const l = emb.getModule('emb') as LoraEmbedding;
    perturbMagnitude(l, 8);
    const ids = tf.tensor2d([[0, 1, 8], [4, 4, 7]], [2, 3], 'int32');
    const { A, B } = l.tensorsOf('default');
    const ref = embRefWeight(l.baseLayer.weight, A, B, l.magnitudeOf('default')!, 2);
    const yRef = tf.gather(ref.W, ids);
    const y = lora.forward(ids);
    expect(maxDiff(y, yRef)).toBeLessThan(1e-5);
    const w0 = tf.clone(l.baseLayer.weight);
    lora.merge();
    expect(maxDiff(l.baseLayer.weight, ref.W)).toBeLessThan(1e-5);
    const ym = lora.forward(ids);
    expect(maxDiff(ym, y)).toBeLessThan(1e-5);
    lora.unmerge();
    expect(maxDiff(l.baseLayer.weight, w0)).toBeLessThan(1e-5);
    tf.dispose([ids, ref.W, ref.n, yRef, y, w0, ym]);
  });

  it('gradients of A, B and m match finite differences with the norm held fixed (DoRA detaches it)', () => {
    // Conv2d
    const conv = new OneConv('NHWC', 2, 3);
    const lc = new LoraModel(conv, { r: 2, lora_alpha: 2, use_dora: true, target_modules: ['conv'], init_lora_weights: false });
    const l = conv.getModule('conv') as LoraConv2d;
    perturbMagnitude(l, 9);
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 3);
    const R = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 4);
    const { A, B } = l.tensorsOf('default');
    const m = l.magnitudeOf('default')!;
    const vars: Variable[] = [A, B, m];
    const { value, grads } = valueAndGrads(() => tf.sum(tf.mul(R, lc.forward(x))), vars);
    const ref0 = convRefWeight(l.baseLayer.weight, A, B, m, 1);
    const n0 = ref0.n;
    const lossC = (v: Tensor[]) => tf.tidy(() => {
      const { W } = convRefWeight(l.baseLayer.weight, v[0]!, v[1]!, v[2]!, 1, n0); // n is n0 here
      return tf.sum(tf.mul(R, convNHWC(x, W, l.baseLayer.bias))).dataSync()[0]!;
    });
    expect(Math.abs(lossC(vars) - value.dataSync()[0]!)).toBeLessThan(1e-4);
    vars.forEach((v, i) => expect(relErr(grads.get(v)!.dataSync(), finiteDiff(lossC, vars, i)), `conv ${['A', 'B', 'm'][i]}`).toBeLessThan(2e-3));
    // Embedding
    const emb = new OneEmbedding(5, 4);
    const le = new LoraModel(emb, { r: 2, lora_alpha: 4, use_dora: true, target_modules: ['emb'], init_lora_weights: false });
    const e = emb.getModule('emb') as LoraEmbedding;
    perturbMagnitude(e, 10);
    const ids = tf.tensor2d([[0, 3, 3], [1, 4, 2]], [2, 3], 'int32');
    const Re = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 5);
    const te = e.tensorsOf('default');
    const evars: Variable[] = [te.A, te.B, e.magnitudeOf('default')!];
    const eg = valueAndGrads(() => tf.sum(tf.mul(Re, le.forward(ids))), evars);
    const eref0 = embRefWeight(e.baseLayer.weight, te.A, te.B, evars[2]!, 2);
    const en0 = eref0.n;
    const lossE = (v: Tensor[]) => tf.tidy(() => {
      const { W } = embRefWeight(e.baseLayer.weight, v[0]!, v[1]!, v[2]!, 2, en0);
      return tf.sum(tf.mul(Re, tf.gather(W, ids))).dataSync()[0]!;
    });
    evars.forEach((v, i) => expect(relErr(eg.grads.get(v)!.dataSync(), finiteDiff(lossE, evars, i)), `embedding ${['A', 'B', 'm'][i]}`).toBeLessThan(2e-3));
    tf.dispose([x, R, value, n0, ref0.W, ids, Re, eg.value, en0, eref0.W, ...grads.values(), ...eg.grads.values()]);
  });

  it('PEFT key names (lora_magnitude_vector) and the by-name merge agree with the layer merge', () => {
    const conv = new OneConv('NHWC', 2, 3);
    const emb = new OneEmbedding(6, 4);
    class Both extends Module {
      constructor() {
        super();
        this.registerModule('c', conv);
        this.registerModule('e', emb);
      }
      forward(): never {
        throw new Error('unused');
      }
    }
    const model = new Both();
    const base = model.stateDict({ clone: true });
    const lora = new LoraModel(model, { r: 2, use_dora: true, target_modules: ['conv', 'emb'], init_lora_weights: false });
    for (const [, l] of lora.loraLayers()) perturbMagnitude(l, 11);
    const sd = lora.adapterStateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.shape]))).toEqual({
      'base_model.model.c.conv.lora_A.weight': [2, 2, 3, 3],
      'base_model.model.c.conv.lora_B.weight': [3, 2, 1, 1],
      'base_model.model.c.conv.lora_magnitude_vector': [1, 3, 1, 1],
      'base_model.model.e.emb.lora_embedding_A': [2, 6],
      'base_model.model.e.emb.lora_embedding_B': [4, 2],
      'base_model.model.e.emb.lora_magnitude_vector': [4],
    });
    const { weights } = mergeAdapterIntoWeights(base, lora.peftConfig.get('default')!, sd);
    lora.merge();
    expect(maxDiff(weights['c.conv.weight']!, model.getParameter('c.conv.base_layer.weight'))).toBeLessThan(1e-5);
    expect(maxDiff(weights['e.emb.weight']!, model.getParameter('e.emb.base_layer.weight'))).toBeLessThan(1e-5);
    tf.dispose([...Object.values(base), ...Object.values(weights)]);
  });

  it('DoRA conv/embedding forward, merge, unmerge and delete leak nothing', async () => {
    const conv = new OneConv('NCHW', 2, 3);
    const lora = new LoraModel(conv, null);
    const x = tf.randomNormal([1, 2, 4, 4], 0, 1, 'float32', 6);
    await expectNoLeak(() => {
      lora.addAdapter('d', { r: 2, use_dora: true, target_modules: ['conv'], init_lora_weights: false });
      lora.setAdapter('d');
      tf.dispose(lora.forward(x));
      lora.merge();
      lora.unmerge();
      const { grads, value } = valueAndGrads(() => tf.sum(lora.forward(x)), conv);
      tf.dispose([value, ...grads.values()]);
      lora.deleteAdapter('d');
    });
    x.dispose();
  });
});
