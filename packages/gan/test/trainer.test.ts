import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { gaussianRing } from '@nutshell/datasets';
import {
  DCGANDiscriminator, DCGANGenerator, ConditionalGenerator, ProjectionDiscriminator, GanTrainer, MLPDiscriminator, MLPGenerator, ReplayBuffer,
  decodePng, modeCoverage, ringCenters, sampleDiversity, type GanTrainerOptions,
} from '@nutshell/gan';
import { Adam, DataLoader, SGD } from '@nutshell/nn';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const images = (n: number, seed = 0) => new Rng(seed).uniformTensor([n, 28, 28, 1], -1, 1);

function small(extra: Partial<GanTrainerOptions> = {}, seed = 1) {
  const G = new DCGANGenerator({ latentDim: 8, width: 4, seed });
  const D = new DCGANDiscriminator({ width: 4, norm: 'none', seed: seed + 1 });
  const t = new GanTrainer({
    generator: G, discriminator: D, latentDim: 8, log: false,
    optimizerG: new Adam(G, { lr: 2e-4, betas: [0.5, 0.999] }), optimizerD: new Adam(D, { lr: 4e-4, betas: [0.5, 0.999] }),
    ...extra,
  });
  return { G, D, t };
}

const weights = (m: { stateDict(): Record<string, Tensor> }) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('GanTrainer', () => {
  it('resumes bit-for-bit from a checkpoint (weights, both optimizers, EMA, replay buffer, data position)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gan-ckpt-'));
    const data = new DataLoader(images(12), { batchSize: 4, shuffle: true, seed: 3 });
    const opts = () => ({ ema: { decay: 0.9 }, replay: new ReplayBuffer(6, 0.5, 1), nCritic: 2, seed: 7 });
    const a = small(opts());
    await a.t.fit(data, { steps: 4 });
    const b = small(opts());
    await b.t.fit(data, { steps: 2 });
    await b.t.saveCheckpoint(join(dir, 'ck.safetensors'));
    const c = small(opts());
    await c.t.fit(data, { steps: 4, resumeFrom: join(dir, 'ck.safetensors') });
    expect(weights(c.G)).toEqual(weights(a.G));
    expect(weights(c.D)).toEqual(weights(a.D));
    expect(Object.fromEntries(Object.entries(c.t.ema!.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())]))).toEqual(
      Object.fromEntries(Object.entries(a.t.ema!.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())])));
    expect(c.t.history.map((h) => h.gLoss)).toEqual(a.t.history.map((h) => h.gLoss));
    expect(c.t.epoch).toBe(2); // 4 steps × 2 critic batches = 8 batches of 3 per epoch
  });

  it('writes fixed-noise PNG grids, JSON-line logs and checkpoints on schedule', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gan-out-'));
    const lines: string[] = [];
    const { t } = small({ samples: { every: 2, dir, count: 9 }, log: { every: 1, mode: 'json', stream: { write: (s: string) => lines.push(s) } }, checkpoint: { path: join(dir, 'last.safetensors'), every: 2 } });
    await t.fit(new DataLoader(images(8), { batchSize: 4 }), { steps: 3 });
    expect(readdirSync(dir).sort()).toEqual(['last.safetensors', 'step-000002.png', 'step-000003.png']);
    const png = decodePng(new Uint8Array(readFileSync(join(dir, 'step-000002.png'))));
    expect([png.width, png.height]).toEqual([3 * 28 + 4 * 2, 3 * 28 + 4 * 2]);
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['gan-step', 'gan-step', 'gan-step']);
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(expect.arrayContaining(['step', 'dLoss', 'gLoss', 'dReal', 'dFake', 'seconds']));
  });

  it('training steps leak no tensors (WGAN-GP + consistency, clipping, unrolling, noise, smoothing)', async () => {
    const data = new DataLoader(images(8), { batchSize: 4 });
    for (const extra of [
      { loss: 'wasserstein' as const, gradientPenalty: 10, consistency: { lambda: 1 } },
      { loss: 'wasserstein' as const, clipWeights: 0.01 },
      { unrollSteps: 2, instanceNoise: { std: 0.1, annealSteps: 10 }, realLabel: 0.9, ema: true },
    ]) {
      const { t } = small(extra);
      t.trainStep(data); // creates optimizer state
      await expectNoLeak(() => { t.trainStep(data); t.trainStep(data); });
      const last = t.history.at(-1)!;
      expect(Number.isFinite(last.dLoss) && Number.isFinite(last.gLoss)).toBe(true);
      if (extra.gradientPenalty) expect(last.penalty).toBeGreaterThanOrEqual(0);
      if ('clipWeights' in extra) for (const p of t.D.parameters()) expect(Math.max(...Array.from(p.dataSync()).map(Math.abs))).toBeLessThanOrEqual(0.01 + 1e-7);
      t.dispose();
    }
  });

  it('unrolling leaves the discriminator exactly where plain training puts it', async () => {
    const data = new DataLoader(images(4), { batchSize: 4 });
    const a = small({ unrollSteps: 3 });
    const b = small({});
    a.t.trainStep(data);
    b.t.trainStep(data);
    expect(weights(a.D)).toEqual(weights(b.D));
    expect(weights(a.G)).not.toEqual(weights(b.G));
  });

  it('trains a conditional GAN from [x, y] batches', async () => {
    const G = new ConditionalGenerator(10, { latentDim: 8, width: 4, seed: 1 });
    const D = new ProjectionDiscriminator(10, { width: 4, seed: 2 });
    const t = new GanTrainer({ generator: G, discriminator: D, latentDim: 8, conditional: { numClasses: 10 }, loss: 'hinge', log: false, optimizerG: new Adam(G), optimizerD: new Adam(D) });
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    await t.fit(new DataLoader([images(4), y], { batchSize: 4 }), { steps: 2 });
    expect(t.history).toHaveLength(2);
    expect(t.fixedSamples().shape).toEqual([64, 28, 28, 1]);
  });

  it('rejects bad configurations with typed errors', () => {
    const G = new DCGANGenerator({ latentDim: 8, width: 4 });
    const Dbn = new DCGANDiscriminator({ width: 4, norm: 'batch' });
    const base = { generator: G, discriminator: Dbn, latentDim: 8, optimizerG: new SGD(G, { lr: 0.1 }), optimizerD: new SGD(Dbn, { lr: 0.1 }) };
    expect(() => new GanTrainer({ ...base, gradientPenalty: 10 })).toThrow(/BatchNorm/);
    expect(() => new GanTrainer({ ...base, nCritic: 0 })).toThrow(InvalidArgumentError);
    expect(() => new GanTrainer({ ...base, optimizerD: base.optimizerG })).toThrow(InvalidArgumentError);
    expect(() => new GanTrainer({ ...base, loss: 'wasserstein', realLabel: 0.9 })).toThrow(InvalidArgumentError);
    expect(() => new GanTrainer({ ...base, loss: 'bogus' as never })).toThrow(InvalidArgumentError);
    expect(() => new GanTrainer({ ...base, conditional: { numClasses: 10 }, replay: new ReplayBuffer() })).toThrow(InvalidArgumentError);
  });

  it('a tiny GAN on the 8-Gaussian ring covers more modes after training than at init', async () => {
    const ring = gaussianRing({ n: 1024, seed: 1 });
    const x = tf.tensor(ring.x, [ring.length, 2]);
    const G = new MLPGenerator(4, 2, { hidden: [64, 64], seed: 1 });
    const D = new MLPDiscriminator(2, { hidden: [64, 64], seed: 2 });
    const measure = () => {
      const s = tf.tidy(() => G.forward(new Rng(9).normalTensor([1000, 4])));
      const c = modeCoverage(s, ringCenters(8, 2), { threshold: 0.5, minCount: 10 });
      const div = sampleDiversity(s);
      s.dispose();
      return { ...c, div };
    };
    const before = measure();
    const t = new GanTrainer({ generator: G, discriminator: D, latentDim: 4, loss: 'lsgan', log: false,
      optimizerG: new Adam(G, { lr: 2e-3, betas: [0.5, 0.9] }), optimizerD: new Adam(D, { lr: 2e-3, betas: [0.5, 0.9] }) });
    await t.fit(new DataLoader(x, { batchSize: 64, shuffle: true, seed: 1 }), { steps: 150 });
    const after = measure();
    expect(after.covered).toBeGreaterThan(before.covered);
    expect(after.covered).toBeGreaterThanOrEqual(5);
    expect(after.highQuality).toBeGreaterThan(before.highQuality);
  });
});
