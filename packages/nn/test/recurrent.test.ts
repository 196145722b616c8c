import { ShapeError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { BasicBlock, GRU, LSTM, MultiHeadAttention, SimpleRNN, scaledDotProductAttention, valueAndGrads } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { T, checkGradFD, expectClose, fixture, weighted } from './helpers.js';

const R = fixture('recurrent.json');

function build(kind: string, f: any) {
  const o = { numLayers: f.num_layers, bidirectional: f.bidirectional };
  const m = kind === 'lstm' ? new LSTM(3, 4, o) : kind === 'gru' ? new GRU(3, 4, o) : new SimpleRNN(3, 4, o);
  const dict = Object.fromEntries(Object.entries(f.weights).map(([k, v]) => [k, T(v as any)]));
  m.loadStateDict(dict); // strict: our names are PyTorch's
  Object.values(dict).forEach((t) => t.dispose());
  return m;
}

describe('recurrent layers match PyTorch with the same weights', () => {
  const cases = Object.keys(R).filter((k) => k !== 'mha');
  it.each(cases)('%s: outputs and final states, full and variable lengths', async (name) => {
    const f = R[name];
    const m = build(name.split('_')[0]!, f);
    const x = T(f.x);
    const { output, state } = m.forward(x);
    expectClose(output, f.y, { atol: 1e-5 });
    expectClose(state.h, f.h, { atol: 1e-5 });
    if (f.c) expectClose(state.c!, f.c, { atol: 1e-5 });
    const packed = m.forward(x, { lengths: f.lengths });
    expectClose(packed.output, f.y_packed, { atol: 1e-5 });
    expectClose(packed.state.h, f.h_packed, { atol: 1e-5 });
    await expectNoLeak(() => m.forward(x, { lengths: f.lengths }));
  });

  it('LSTM gradient matches finite differences; bad input is a ShapeError', async () => {
    const m = new LSTM(2, 3, { seed: 1, bidirectional: true });
    const up = tf.randomNormal([1, 4, 6], 0, 1, 'float32', 4);
    checkGradFD((x) => weighted(m.forward(x).output, up), tf.randomNormal([1, 4, 2], 0, 1, 'float32', 5), { samples: 8 });
    expect(() => m.forward(tf.zeros([1, 4, 3]))).toThrow(ShapeError);
    const x = tf.ones([2, 3, 2]);
    await expectNoLeak(() => {
      const { value, grads } = valueAndGrads(() => tf.sum(m.forward(x).output), m);
      return [value, [...grads.values()]];
    });
  });

  it('a one-step sequence has gradients for every recurrent kind (tfjs Unpack gradient regression)', () => {
    for (const make of [() => new GRU(3, 4, { seed: 2 }), () => new LSTM(3, 4, { seed: 2 }), () => new SimpleRNN(3, 4, { seed: 2 })]) {
      const m = make();
      const up = tf.randomNormal([2, 1, 4], 0, 1, 'float32', 6);
      checkGradFD((x) => weighted(m.forward(x).output, up), tf.randomNormal([2, 1, 3], 0, 1, 'float32', 7), { samples: 6 });
      const { value, grads } = valueAndGrads(() => tf.sum(m.forward(tf.ones([2, 1, 3])).output), m);
      expect(grads.size).toBe(m.parameters().length);
      tf.dispose([value, ...grads.values(), up]);
      m.dispose();
    }
  });

  it('batchFirst: false takes [time, batch, features]', () => {
    const a = new GRU(2, 3, { seed: 2 });
    const b = new GRU(2, 3, { seed: 2, batchFirst: false });
    const x = tf.randomNormal([2, 5, 2], 0, 1, 'float32', 1);
    expectClose(tf.transpose(b.forward(tf.transpose(x, [1, 0, 2])).output, [1, 0, 2]), a.forward(x).output);
  });
});

describe('attention', () => {
  const f = R.mha;
  const mha = new MultiHeadAttention(8, 2);
  const dict = Object.fromEntries(Object.entries(f.weights).map(([k, v]) => [k, T(v as any)]));
  mha.loadStateDict(dict);

  it('cross-attention matches nn.MultiheadAttention (output and averaged weights)', () => {
    const { output, weights } = mha.forward(T(f.q), T(f.kv), T(f.kv));
    expectClose(output, f.out, { atol: 1e-5 });
    expectClose(weights!, f.w, { atol: 1e-5 });
  });

  it('causal self-attention and key padding masks match PyTorch', () => {
    const xs = T(f.xs);
    const causal = mha.forward(xs, undefined, undefined, { causal: true });
    expectClose(causal.output, f.out_causal, { atol: 1e-5 });
    expectClose(causal.weights!, f.w_causal, { atol: 1e-5 });
    const boolMask = tf.cast(tf.sub(1, tf.linalg.bandPart(tf.ones([3, 3]), -1, 0)), 'bool');
    expectClose(mha.forward(xs, xs, xs, { attnMask: boolMask }).output, f.out_causal, { atol: 1e-5 });
    const kpm = tf.cast(tf.tensor2d(f.key_padding_mask, [2, 4]), 'bool');
    const padded = mha.forward(T(f.q), T(f.kv), T(f.kv), { keyPaddingMask: kpm });
    expectClose(padded.output, f.out_pad, { atol: 1e-5 });
    expectClose(padded.weights!, f.w_pad, { atol: 1e-5 });
  });

  it('scaledDotProductAttention by hand; gradient vs finite differences; no leaks', async () => {
    // one query attending to two keys with scores 0 and ln 3 (scale 1): weights 1/4, 3/4
    const q = tf.tensor([[[1, 0]]]);
    const k = tf.tensor([[[0, 0], [Math.log(3), 0]]]);
    const v = tf.tensor([[[4, 0], [0, 8]]]);
    const r = scaledDotProductAttention(q, k, v, { scale: 1, returnWeights: true });
    expectClose(r.weights!, [0.25, 0.75]);
    expectClose(r.output, [1, 6]);
    const up = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 9);
    checkGradFD((x) => weighted(mha.forward(x, undefined, undefined, { causal: true }).output, up), T(f.xs), { samples: 6 });
    const xs = T(f.xs);
    await expectNoLeak(() => mha.forward(xs));
    expect(() => mha.forward(tf.zeros([2, 3, 5]))).toThrow(/expected query \[batch, length, 8\], got shape \[2, 3, 5\]/);
  });
});

describe('BasicBlock', () => {
  it('keeps torchvision names and shapes; downsample when the stride changes', () => {
    const b = new BasicBlock(4, 8, { stride: 2, seed: 1 });
    expect(b.namedParameters().map(([n]) => n)).toEqual([
      'conv1.weight', 'bn1.weight', 'bn1.bias', 'conv2.weight', 'bn2.weight', 'bn2.bias', 'downsample.0.weight', 'downsample.1.weight', 'downsample.1.bias',
    ]);
    expect(b.forward(tf.ones([2, 6, 6, 4]) as Tensor).shape).toEqual([2, 3, 3, 8]);
    expect(new BasicBlock(4, 4).downsample).toBeNull();
  });
});
