import { DTypeError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  bceLoss, bceWithLogitsLoss, cosineEmbeddingLoss, crossEntropy, gaussianKL, huberLoss, infoNCELoss, klDivLoss, l1Loss, marginRankingLoss,
  mseLoss, nllLoss, smoothL1Loss, gramMatrix, logSoftmax, softmax,
  gelu, elu, selu, silu, softplus, leakyRelu, relu, sigmoid, tanh,
} from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { T, checkGradFD, expectClose, fixture } from './helpers.js';

const F = fixture('losses.json');
const A = fixture('layers.json').activations;
const v = (t: Tensor) => t.dataSync()[0]!;

describe('activations match PyTorch (values and gradients, incl. ±100)', () => {
  const fns: Record<string, (x: Tensor) => Tensor> = {
    relu, sigmoid, tanh, selu, silu, 'leaky_relu_0.1': (x) => leakyRelu(x, 0.1), elu: (x) => elu(x), 'elu_0.5': (x) => elu(x, 0.5),
    gelu: (x) => gelu(x), gelu_tanh: (x) => gelu(x, 'tanh'), softplus: (x) => softplus(x), softplus_b2: (x) => softplus(x, 2, 5),
  };
  it.each(Object.keys(fns))('%s', (name) => {
    const x = T(A.x);
    expectClose(fns[name]!(x), A.cases[name].y, { atol: 1e-6, rtol: 1e-5 });
    expectClose(tf.grad((t: Tensor) => tf.sum(fns[name]!(t)))(x), A.cases[name].g, { atol: 1e-6, rtol: 1e-4 });
  });
  it('softmax / logSoftmax are stable for logits of ±1000', () => {
    expectClose(logSoftmax(T(A.cases.log_softmax.x)), A.cases.log_softmax.y);
    expectClose(softmax(T(A.cases.softmax.x)), A.cases.softmax.y);
    expectClose(softmax(tf.transpose(T(A.cases.softmax.x)), 0), tf.transpose(T(A.cases.softmax.y)));
  });
});

describe('regression losses', () => {
  const x = T(F.regression.input);
  const y = T(F.regression.target);
  it('match PyTorch', () => {
    expectClose(v(mseLoss(x, y)), F.mse);
    expectClose(v(mseLoss(x, y, { reduction: 'sum' })), F.mse_sum);
    expectClose(v(l1Loss(x, y)), F.l1);
    expectClose(v(huberLoss(x, y, { delta: 0.5 })), F['huber_0.5']);
    expectClose(v(smoothL1Loss(x, y, { beta: 0.5 })), F['smooth_l1_0.5']);
    expect(mseLoss(x, y, { reduction: 'none' }).shape).toEqual([4, 3]);
  });
  it('shape mismatches are ShapeErrors naming both shapes', () => {
    expect(() => mseLoss(x, tf.zeros([3, 4]))).toThrow(ShapeError);
    expect(() => mseLoss(x, tf.zeros([3, 4]))).toThrow(/\[4, 3\], got \[3, 4\]/);
  });
  it('gradients match finite differences', () => {
    checkGradFD((t) => huberLoss(t, y, { delta: 0.5 }), x);
    checkGradFD((t) => mseLoss(t, y), x);
  });
});

describe('classification losses', () => {
  it('BCE and BCE-with-logits match PyTorch; logits ±100 stay finite', async () => {
    expectClose(v(bceLoss(T(F.binary.p), T(F.binary.y))), F.bce);
    const f = F.bce_logits;
    const lg = T(f.logits);
    expectClose(v(bceWithLogitsLoss(lg, T(f.y))), f.loss);
    expectClose(tf.grad((t: Tensor) => bceWithLogitsLoss(t, T(f.y)))(lg), f.grad, { atol: 1e-7 });
    expectClose(v(bceWithLogitsLoss(lg, T(f.y), { posWeight: tf.tensor([2, 0.5, 1]) })), f.pos_weight_loss);
    expect(Number.isFinite(f.loss)).toBe(true);
    const y = T(f.y);
    await expectNoLeak(() => bceWithLogitsLoss(lg, y));
    await expectNoLeak(() => tf.grad((t: Tensor) => bceWithLogitsLoss(t, y))(lg));
  });

  it.each(['plain', 'smooth', 'weight', 'weight_smooth', 'sum', 'none'])('crossEntropy %s matches PyTorch (ignore index −100)', (name) => {
    const c = F.ce;
    const kw: any = {
      plain: {}, smooth: { labelSmoothing: 0.1 }, weight: { weight: T(c.weight) }, weight_smooth: { weight: T(c.weight), labelSmoothing: 0.2 },
      sum: { reduction: 'sum', labelSmoothing: 0.1 }, none: { reduction: 'none', labelSmoothing: 0.1 },
    }[name];
    const logits = T(c.logits);
    const target = T(c.target, 'int32');
    const out = crossEntropy(logits, target, kw);
    if (name === 'none') {
      expectClose(out, c.cases.none.loss);
      return;
    }
    expectClose(v(out), c.cases[name].loss);
    expectClose(tf.grad((t: Tensor) => crossEntropy(t, target, kw))(logits), c.cases[name].grad, { atol: 1e-6 });
  });

  it('crossEntropy: huge logits, probability targets, spatial targets', () => {
    const c = F.ce.cases;
    expectClose(v(crossEntropy(T(c.big.logits), tf.tensor([1, 2], undefined, 'int32'))), c.big.loss);
    expectClose(v(crossEntropy(T(F.ce.logits), T(c.soft.target))), c.soft.loss);
    expectClose(v(crossEntropy(T(F.ce.logits), T(c.soft.target), { labelSmoothing: 0.1 })), c.soft.smooth);
    expectClose(v(crossEntropy(T(c.seg.logits), T(c.seg.target, 'int32'))), c.seg.loss);
  });

  it('crossEntropy rejects float class indices and wrong target shapes', () => {
    expect(() => crossEntropy(tf.zeros([2, 3]), tf.tensor([1, 2]))).toThrow(DTypeError);
    expect(() => crossEntropy(tf.zeros([2, 3]), tf.tensor([1, 2, 0], undefined, 'int32'))).toThrow(/expected target shape \[2\], got \[3\]/);
  });

  it('nllLoss with weights and ignore index matches PyTorch', () => {
    expectClose(v(nllLoss(T(F.nll.logp), T(F.ce.target, 'int32'), { weight: T(F.ce.weight) })), F.nll.loss);
  });
});

describe('divergences and embedding losses', () => {
  it('klDivLoss matches PyTorch', () => {
    const k = F.kl;
    expectClose(v(klDivLoss(T(k.input), T(k.target), { reduction: 'batchmean' })), k.batchmean);
    expectClose(v(klDivLoss(T(k.input), T(k.target), { reduction: 'sum' })), k.sum);
    expectClose(v(klDivLoss(T(k.input), tf.log(T(k.target)), { reduction: 'batchmean', logTarget: true })), k.log_target);
  });
  it('gaussianKL is 0 at N(0,1) and matches the closed form', () => {
    expect(v(gaussianKL(tf.zeros([2, 3]), tf.zeros([2, 3])))).toBe(0);
    // μ=1, logσ²=log 2: ½(2 + 1 − 1 − log 2) per dim
    expectClose(v(gaussianKL(tf.ones([1, 2]), tf.fill([1, 2], Math.log(2)))), 2 * 0.5 * (2 + 1 - 1 - Math.log(2)));
  });
  it('cosine embedding and margin ranking match PyTorch', () => {
    const c = F.cosine_embedding;
    expectClose(v(cosineEmbeddingLoss(T(c.x1), T(c.x2), T(c.y), { margin: 0.2 })), c.loss);
    const m = F.margin_ranking;
    expectClose(v(marginRankingLoss(T(m.a), T(m.b), T(m.y), { margin: 0.5 })), m.loss);
  });
  it('InfoNCE is low for matching pairs and log N for uninformative ones; Gram matrix', () => {
    const q = tf.eye(4);
    expect(v(infoNCELoss(q, q, { temperature: 0.05 }))).toBeLessThan(1e-6);
    expectClose(v(infoNCELoss(tf.ones([4, 3]), tf.ones([4, 3]))), Math.log(4), { atol: 1e-5 });
    const g = gramMatrix(tf.ones([1, 2, 2, 3]));
    expect(g.shape).toEqual([1, 3, 3]);
    expectClose(g, Array(9).fill(4 / 12));
  });
});
