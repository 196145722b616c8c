import { InvalidArgumentError, Rng, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  ConditionalGenerator, DCGANDiscriminator, DCGANGenerator, EqualizedLinear, InfoGANHead, MappingNetwork, ModulatedConv2d, PatchGANDiscriminator,
  ProjectionDiscriminator, StyleGenerator, UNetGenerator, adaIN, cycleConsistencyLoss, decodePng, encodePng, fadeIn, gumbelSoftmax, identityLoss, imageGrid,
  mixStyles, mutualInformationLoss, pix2pixGeneratorLoss, receptiveField, sampleInfoCodes, truncate, upsample2x,
} from '@nutshell/gan';
import { describe, expect, it } from 'vitest';
import { arr, close, val } from './helpers.js';

const z = (n: number, d: number, s = 1) => new Rng(s).normalTensor([n, d]);

describe('DCGAN and conditional models', () => {
  it('generator and discriminator shapes, tanh range, no leaks', async () => {
    const G = new DCGANGenerator({ latentDim: 16, width: 8, seed: 1 });
    const D = new DCGANDiscriminator({ width: 8, seed: 2 });
    const x = G.forward(z(4, 16));
    expect(x.shape).toEqual([4, 28, 28, 1]);
    expect(Math.max(...arr(tf.abs(x)))).toBeLessThanOrEqual(1);
    expect(D.forward(x).shape).toEqual([4, 1]);
    await expectNoLeak(() => tf.tidy(() => D.forward(G.forward(z(2, 16)))));
    expect(() => G.forward(z(2, 5))).toThrow(ShapeError);
    expect(() => new DCGANGenerator({ imageSize: 30 as 28 })).toThrow(InvalidArgumentError);
  });
  it('conditional generator depends on the label; projection D = ψ(φ) + ⟨e_y, φ⟩', () => {
    const G = new ConditionalGenerator(10, { latentDim: 8, width: 4, seed: 1 });
    G.eval();
    const zz = z(2, 8);
    const a = G.forward(zz, tf.tensor1d([1, 1], 'int32'));
    const b = G.forward(zz, tf.tensor1d([1, 7], 'int32'));
    close(arr(tf.slice(a, [0], [1])), arr(tf.slice(b, [0], [1])), 0);
    expect(val(tf.sum(tf.abs(tf.sub(tf.slice(a, [1], [1]), tf.slice(b, [1], [1])))))).toBeGreaterThan(0);
    expect(() => G.forward(zz, tf.tensor1d([1, 12], 'int32'))).toThrow(InvalidArgumentError);
    const D = new ProjectionDiscriminator(10, { width: 4, norm: 'none', seed: 2 });
    const x = G.forward(zz, tf.tensor1d([3, 4], 'int32'));
    const y = tf.tensor1d([3, 4], 'int32');
    const out = arr(D.forward(x, y));
    const f = D.body.features(x);
    const head = arr(D.body.head.forward(f));
    const e = D.embedding.weight.arraySync() as number[][];
    const fv = f.arraySync() as number[][];
    const want = [0, 1].map((i) => head[i]! + fv[i]!.reduce((s, q, k) => s + q * e[[3, 4][i]!]![k]!, 0));
    close(out, want, 1e-4);
  });
});

describe('InfoGAN', () => {
  it('mutual-information loss: CE + λ·½(c − μ)²', () => {
    const q = { logits: tf.tensor([[0, Math.log(3)]]), mean: tf.tensor([[0.1]]) };
    const codes = { categories: tf.tensor1d([1], 'int32'), continuous: tf.tensor([[0.5]]) };
    close(val(mutualInformationLoss(q, codes)), -Math.log(0.75) + 0.1 * 0.5 * 0.16);
    const c = sampleInfoCodes(6, 10, 2, new Rng(0));
    expect(c.oneHot.shape).toEqual([6, 10]);
    expect(Math.max(...arr(tf.abs(c.continuous)))).toBeLessThanOrEqual(1);
    const head = new InfoGANHead(12, 10, 2, { seed: 0 });
    const out = head.forward(tf.ones([6, 12]));
    expect(out.logits.shape).toEqual([6, 10]);
    expect(out.mean.shape).toEqual([6, 2]);
  });
});

describe('pix2pix / CycleGAN blocks', () => {
  it('U-Net keeps the shape; PatchGAN gives one logit per patch with an 18-pixel receptive field', () => {
    const G = new UNetGenerator({ base: 4, seed: 0 });
    const y = G.forward(z(2, 784).reshape([2, 28, 28, 1]));
    expect(y.shape).toEqual([2, 28, 28, 1]);
    const D = new PatchGANDiscriminator({ inChannels: 1, base: 4, seed: 1 });
    expect(D.forward(y).shape).toEqual([2, 7, 7, 1]);
    expect(D.receptiveField).toBe(18);
    expect(receptiveField([{ kernel: 3, stride: 1 }, { kernel: 3, stride: 1 }])).toBe(5);
    // Empirically (without InstanceNorm, which couples all positions): the centre logit sees at most 18×18 pixels.
    const plain = new PatchGANDiscriminator({ inChannels: 1, base: 4, norm: 'none', seed: 1 });
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.slice(plain.forward(x), [0, 3, 3, 0], [1, 1, 1, 1])))(z(1, 784, 4).reshape([1, 28, 28, 1]));
    const m = g.reshape([28, 28]).arraySync() as number[][];
    const rows = m.map((r, i) => (r.some((v) => v !== 0) ? i : -1)).filter((i) => i >= 0);
    expect(rows.at(-1)! - rows[0]! + 1).toBeLessThanOrEqual(18);
    expect(rows.length).toBeGreaterThan(8);
  });
  it('pix2pix, cycle and identity losses', () => {
    const target = tf.zeros([1, 2, 2, 1]);
    const fake = tf.fill([1, 2, 2, 1], 0.1);
    close(val(pix2pixGeneratorLoss(tf.zeros([1, 7, 7, 1]), fake, target)), Math.LN2 + 10, 1e-5);
    close(val(cycleConsistencyLoss(target, fake)), 1, 1e-5);
    close(val(identityLoss(target, fake)), 0.5, 1e-5);
  });
});

describe('StyleGAN / ProGAN pieces', () => {
  it('truncation ψ = 1 is the identity, ψ = 0 the average', () => {
    const w = z(3, 4);
    const avg = tf.tensor([1, 2, 3, 4]);
    close(arr(truncate(w, avg, 1)), arr(w), 0);
    close(arr(truncate(w, avg, 0)), arr(tf.tile(avg.reshape([1, 4]), [3, 1])), 1e-6);
    close(arr(truncate(w, avg, 0.5)), arr(tf.add(avg, tf.mul(tf.sub(w, avg), 0.5))), 1e-6);
  });
  it('AdaIN output has per-channel mean = bias and std = scale', () => {
    const x = new Rng(2).normalTensor([2, 6, 6, 3], 5, 3);
    const scale = tf.tensor([[1, 2, 0.5], [3, 1, 1]]);
    const bias = tf.tensor([[0, -1, 4], [2, 2, 2]]);
    const y = adaIN(x, scale, bias);
    const { mean, variance } = tf.moments(y, [1, 2]);
    close(arr(mean), arr(bias), 1e-4);
    close(arr(tf.sqrt(variance)), arr(scale), 1e-4);
  });
  it('modulated conv: demodulated weights have unit norm and unit-variance inputs give ~unit-variance outputs', () => {
    const conv = new ModulatedConv2d(16, 8, 3, 4, { seed: 0 });
    const style = z(2, 4, 3);
    const w = conv.modulatedWeights(style);
    close(arr(tf.sum(tf.square(w), [2, 3, 4])), new Array(16).fill(1), 1e-4);
    const y = conv.forward(new Rng(4).normalTensor([2, 24, 24, 16]), style);
    const inner = tf.slice(y, [0, 1, 1, 0], [2, 22, 22, 8]);
    const sd = Math.sqrt(val(tf.moments(inner).variance));
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
  });
  it('equalized LR scales weights at run time', () => {
    const l = new EqualizedLinear(4, 1, { lrMul: 0.5, biasInit: 1 });
    l.weight.assign(tf.tensor([[2, 2, 2, 2]]));
    // y = x·(W·0.5/√4)ᵀ + b·0.5 with b stored as 1/0.5.
    close(arr(l.forward(tf.ones([1, 4]))), [4 * 2 * 0.25 + 1]);
    expect(new MappingNetwork(8, 6, { layers: 3 }).forward(z(2, 8)).shape).toEqual([2, 6]);
  });
  it('fade-in α = 0 equals the upsampled previous resolution, α = 1 the new block', () => {
    const prev = tf.tensor([1, 2, 3, 4], [1, 2, 2, 1]);
    const cur = z(1, 16, 5).reshape([1, 4, 4, 1]);
    close(arr(upsample2x(prev)), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], 0);
    close(arr(fadeIn(0, prev, cur)), arr(upsample2x(prev)), 0);
    close(arr(fadeIn(1, prev, cur)), arr(cur), 1e-7);
    expect(() => fadeIn(1.5, prev, cur)).toThrow(InvalidArgumentError);
  });
  it('StyleGenerator: style mixing at crossover 3 = no mixing, at 0 = the second latent', async () => {
    const G = new StyleGenerator({ zDim: 8, wDim: 8, channels: 4, mappingLayers: 2, seed: 0 });
    G.eval();
    const a = z(2, 8, 1);
    const b = z(2, 8, 2);
    const plain = G.forward(a);
    expect(plain.shape).toEqual([2, 28, 28, 1]);
    close(arr(G.forward(a, { mix: { z: b, crossover: 3 } })), arr(plain), 1e-6);
    close(arr(G.forward(a, { mix: { z: b, crossover: 0 } })), arr(G.forward(b)), 1e-6);
    close(arr(G.forward(a, { psi: 1 })), arr(plain), 0);
    expect(mixStyles(a, b, 3, 1).shape).toEqual([2, 3, 8]);
    await expectNoLeak(() => G.forward(a, { psi: 0.7, mix: { z: b, crossover: 1 } }));
  });
});

describe('Gumbel-softmax and PNG grids', () => {
  it('hard samples are one-hot with the soft sample\'s (straight-through) gradient', () => {
    const logits = tf.tensor([[1, 2, 0.5], [0, 0, 3]]);
    const gumbel = new Rng(0).normalTensor([2, 3]);
    const hard = gumbelSoftmax(logits, { hard: true, gumbel, tau: 0.5 });
    close(arr(tf.sum(hard, 1)), [1, 1]);
    expect(arr(hard).every((v) => v === 0 || v === 1)).toBe(true);
    const c = tf.tensor([[1, -2, 3], [0.5, 1, -1]]);
    const gh = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(gumbelSoftmax(l, { hard: true, gumbel, tau: 0.5 }), c)))(logits);
    const gs = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(gumbelSoftmax(l, { hard: false, gumbel, tau: 0.5 }), c)))(logits);
    close(arr(gh), arr(gs), 1e-6);
  });
  it('image grids are laid out row-major with padding and round-trip through PNG', () => {
    const imgs = tf.tensor([-1, -1, -1, -1, 1, 1, 1, 1], [2, 2, 2, 1]);
    const g = imageGrid(imgs, { nrow: 2, padding: 1, padValue: 128 });
    expect([g.width, g.height]).toEqual([7, 4]);
    const px = (x: number, y: number) => g.data[(y * 7 + x) * 4]!;
    expect([px(0, 0), px(1, 1), px(2, 2), px(4, 1), px(5, 2), px(3, 1)]).toEqual([128, 0, 0, 255, 255, 128]);
    const back = decodePng(encodePng(g));
    expect(back.width).toBe(7);
    expect(Array.from(back.data)).toEqual(Array.from(g.data));
    expect(() => imageGrid(tf.zeros([2, 2, 2, 2]))).toThrow(ShapeError);
  });
});
