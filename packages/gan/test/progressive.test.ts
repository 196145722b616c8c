import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { EqualizedConv2d, GanTrainer, ProgressiveDiscriminator, ProgressiveGenerator, progressiveReals } from '@nutshell/gan';
import { Adam, DataLoader } from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { arr, close } from './helpers.js';

const values = (m: { stateDict(): Record<string, Tensor> }) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())]));

/** Nearest-neighbour 2× upsampling by index arithmetic (independent of tf.image). */
function upsampleRef(x: Tensor): number[] {
  const [n, h, w, c] = x.shape as number[];
  const d = x.dataSync();
  const out: number[] = [];
  for (let b = 0; b < n!; b++) for (let i = 0; i < 2 * h!; i++) for (let j = 0; j < 2 * w!; j++) for (let k = 0; k < c!; k++) {
    out.push(d[((b * h! + Math.floor(i / 2)) * w! + Math.floor(j / 2)) * c! + k]!);
  }
  return out;
}

describe('ProgressiveGenerator / ProgressiveDiscriminator (ProGAN)', () => {
  const z = new Rng(0).normalTensor([4, 16]);

  it('grows 4→8→16→32 with stable parameter names; shapes at every stage and α', () => {
    const G = new ProgressiveGenerator(16, { channels: [16, 16, 8, 8], seed: 1 });
    const D = new ProgressiveDiscriminator({ channels: [16, 16, 8, 8], seed: 2 });
    const namesG = Object.keys(G.stateDict());
    const namesD = Object.keys(D.stateDict());
    const before = values(G);
    for (const [stage, side] of [[0, 4], [1, 8], [2, 16], [3, 32]] as const) {
      if (stage > 0) {
        G.grow();
        D.grow();
        expect([G.alpha, D.alpha]).toEqual([0, 0]);
      }
      expect([G.stage, G.resolution, D.resolution]).toEqual([stage, side, side]);
      for (const a of [0, 0.5, 1]) {
        if (stage === 0 && a < 1) continue;
        G.alpha = a;
        D.alpha = a;
        const x = G.forward(z);
        expect(x.shape).toEqual([4, side, side, 1]);
        const score = D.forward(x);
        expect(score.shape).toEqual([4, 1]);
        // Full-size reals are pooled down to the current resolution.
        const big = D.forward(tf.zeros([4, 32, 32, 1]));
        expect(big.shape).toEqual([4, 1]);
        tf.dispose([x, score, big]);
      }
      expect(Object.keys(G.stateDict())).toEqual(namesG);
      expect(Object.keys(D.stateDict())).toEqual(namesD);
    }
    // Growing does not touch any weight.
    expect(values(G)).toEqual(before);
    expect(() => G.grow()).toThrow(InvalidArgumentError);
    expect(() => { G.alpha = 1.5; }).toThrow(InvalidArgumentError);
  });

  it('fade-in: α = 0 equals the upsampled previous-resolution output, α = 1 the new path only', () => {
    const G = new ProgressiveGenerator(16, { channels: [8, 8, 4], seed: 3 });
    G.setStage(1, 1);
    const grown = G.forward(z);
    G.setStage(0, 1);
    const old = G.forward(z);
    G.grow();
    G.alpha = 0;
    close(arr(G.forward(z)), upsampleRef(old), 1e-6);
    // α = 1: the new block's toRGB on it, by hand, and independent of the old toRGB's weights.
    G.alpha = 1;
    const byHand = tf.tidy(() => G.toRgb.at(1).forward(G.features(z, 1)));
    close(arr(G.forward(z)), arr(byHand), 1e-6);
    close(arr(grown), arr(byHand), 1e-6);
    const oldRgb = G.toRgb.at(0) as EqualizedConv2d;
    oldRgb.weight.assign(tf.mul(oldRgb.weight, 7));
    close(arr(G.forward(z)), arr(byHand), 1e-6);
    // α = 0.25: the linear blend.
    G.alpha = 0.25;
    const oldNow = upsampleRef(tf.tidy(() => G.toRgb.at(0).forward(G.features(z, 0))));
    close(arr(G.forward(z)), arr(byHand).map((v, i) => 0.25 * v + 0.75 * oldNow[i]!), 1e-5);
  });

  it('discriminator fade-in: α = 0 ignores the new block, α = 1 the old fromRGB', () => {
    const D = new ProgressiveDiscriminator({ channels: [8, 8], seed: 4 });
    const x = new Rng(1).normalTensor([4, 8, 8, 1]);
    D.setStage(0);
    const low = D.forward(x); // pools 8×8 → 4×4
    D.setStage(1, 0);
    close(arr(D.forward(x)), arr(low), 1e-5);
    D.alpha = 1;
    const full = D.forward(x);
    const rgb0 = D.fromRgb.at(0) as EqualizedConv2d;
    rgb0.weight.assign(tf.mul(rgb0.weight, -3));
    close(arr(D.forward(x)), arr(full), 1e-6);
  });

  it('equalized learning rate and pixel norm: He-scaled weights at run time, unit RMS features per pixel', () => {
    const G = new ProgressiveGenerator(16, { channels: [8, 8], seed: 5 });
    const conv = G.blocks.at(1).modules().find((m) => m instanceof EqualizedConv2d) as EqualizedConv2d;
    expect(conv.scale).toBeCloseTo(1 / Math.sqrt(8 * 9), 12);
    const w = arr(conv.weight);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.85);
    expect(std).toBeLessThan(1.15); // stored N(0, 1)
    G.setStage(1);
    const h = G.features(z, 1);
    const rms = tf.tidy(() => tf.sqrt(tf.mean(tf.square(h), -1)));
    for (const v of arr(rms)) expect(Math.abs(v - 1)).toBeLessThan(1e-3);
    tf.dispose([h, rms]);
  });

  it('trains in GanTrainer across a growth step without leaks; stage and α survive a checkpoint', async () => {
    const G = new ProgressiveGenerator(8, { channels: [8, 8, 4], seed: 6 });
    const D = new ProgressiveDiscriminator({ channels: [8, 8, 4], seed: 7 });
    const t = new GanTrainer({ generator: G, discriminator: D, latentDim: 8, loss: 'wasserstein', gradientPenalty: 10, log: false,
      transformReal: (x) => progressiveReals(x, G.resolution, G.alpha),
      optimizerG: new Adam(G, { lr: 1e-3, betas: [0, 0.99] }), optimizerD: new Adam(D, { lr: 1e-3, betas: [0, 0.99] }) });
    const data = new DataLoader(new Rng(2).uniformTensor([8, 16, 16, 1], -1, 1), { batchSize: 4 });
    t.trainStep(data);
    G.grow();
    D.grow();
    G.alpha = D.alpha = 0.5;
    t.trainStep(data);
    await expectNoLeak(() => { t.trainStep(data); });
    expect(t.history.every((h) => Number.isFinite(h.dLoss) && Number.isFinite(h.gLoss))).toBe(true);
    expect(G.extraState()).toMatchObject({ stage: 1, alpha: 0.5 });
    // The reals the trainer feeds: pooled to 8×8 and faded like G's output.
    const x = new Rng(3).uniformTensor([2, 16, 16, 1], -1, 1);
    const r = progressiveReals(x, 8, 0.5);
    const pooled = tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid');
    const lowUp = upsampleRef(tf.avgPool(pooled, 2, 2, 'valid'));
    close(arr(r), arr(pooled).map((v, i) => 0.5 * v + 0.5 * lowUp[i]!), 1e-6);
    close(arr(progressiveReals(x, 8, 0)), lowUp, 1e-6);
    const G2 = new ProgressiveGenerator(8, { channels: [8, 8, 4], seed: 6 });
    G2.loadExtraState(G.extraState());
    expect([G2.stage, G2.alpha]).toEqual([1, 0.5]);
  });
});
