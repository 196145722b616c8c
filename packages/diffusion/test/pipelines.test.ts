import { describe, expect, it } from 'vitest';
import { createKit, InvalidArgumentError, Rng, ShapeError, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { gaussianRing } from '@nutshell/datasets';
import {
  classifierFreeGuidance, classifierGuidance, createScheduler, diffusionLoss, EMA, generate, img2img, imageGrid, inpaint, MLPDenoiser,
  NoiseSchedule, SCHEDULERS, superResolve, toySampleScore, trainDenoiser, trajectoryStrip, UNet, upsampleCondition,
} from '@nutshell/diffusion';
import plugin from '@nutshell/diffusion/plugin';
import nnPlugin from '@nutshell/nn/plugin';

const schedule = new NoiseSchedule();

describe('toy 2-D diffusion', () => {
  const ds = gaussianRing({ n: 2000, modes: 4, radius: 2, std: 0.1, seed: 1 });
  const data = tf.tensor2d(ds.x as Float32Array, [ds.length, 2]);
  const model = new MLPDenoiser({ dim: 2, hidden: 48, blocks: 2, seed: 0 });
  const { losses, ema } = trainDenoiser({ model, data, schedule, steps: 400, batchSize: 128, lr: 3e-3, emaDecay: 0.98, rng: 0 });
  ema!.copyTo(model);
  ema!.dispose();

  it('training lowers the loss', () => {
    const head = losses.slice(0, 20).reduce((a, b) => a + b) / 20;
    const tail = losses.slice(-50).reduce((a, b) => a + b) / 50;
    expect(tail).toBeLessThan(0.7 * head);
  });

  it('the same model samples a 4-mode ring with every scheduler, much closer to the data than noise', () => {
    const noise = new Rng(11).normalTensor([500, 2]);
    const steps: Record<string, number> = { ddpm: 50, ddim: 20, 'dpmpp-2m': 12, euler: 20, 'euler-ancestral': 30, heun: 10 };
    for (const name of Object.keys(SCHEDULERS)) {
      const { samples } = generate({ model, scheduler: createScheduler(name, { schedule }), shape: [500, 2], steps: steps[name], rng: 2 });
      const { swd, noiseSwd } = toySampleScore(samples, data, { noise });
      // SWD of N(0, I) vs the ring ≈ 0.5; a trained sampler gets well under half of that
      expect(swd, name).toBeLessThan(0.35 * noiseSwd!);
      samples.dispose();
    }
    noise.dispose();
  });

  it('inpainting leaves known coordinates exactly unchanged (with and without RePaint resampling)', () => {
    const x = tf.tensor2d([[2, 0.3], [-0.1, -2], [0.5, 0.5]]);
    const mask = tf.tensor2d([[1, 0]]);
    for (const [name, jumps] of [['ddpm', 1], ['ddim', 3], ['euler', 2], ['dpmpp-2m', 1]] as const) {
      const { samples, modelCalls } = inpaint({ model, scheduler: createScheduler(name, { schedule }), image: x, mask, steps: 10, jumps, rng: 4 });
      const got = samples.arraySync() as number[][];
      const want = x.arraySync() as number[][];
      for (let i = 0; i < 3; i++) expect(got[i]![0]).toBe(want[i]![0]);
      expect(modelCalls).toBe(10 + 9 * (jumps - 1));
      samples.dispose();
    }
    expect(() => inpaint({ model, scheduler: createScheduler('heun', { schedule }), image: x, mask, steps: 5, jumps: 2 })).toThrow(InvalidArgumentError);
    x.dispose();
    mask.dispose();
  });

  it('img2img with strength 0 returns the input; higher strength runs that fraction of the steps', () => {
    const x = tf.tensor2d([[2, 0], [0, -2]]);
    for (const name of ['ddim', 'heun', 'dpmpp-2m']) {
      const zero = img2img({ model, scheduler: createScheduler(name, { schedule }), image: x, strength: 0, steps: 10 });
      expect(Array.from(zero.samples.dataSync())).toEqual([2, 0, 0, -2]);
      expect(zero.modelCalls).toBe(0);
      zero.samples.dispose();
      const half = img2img({ model, scheduler: createScheduler(name, { schedule }), image: x, strength: 0.3, steps: 10, rng: 1 });
      expect(half.modelCalls).toBe(name === 'heun' ? 5 : 3);
      // low strength stays near the (on-manifold) input
      expect(Math.max(...Array.from(tf.abs(tf.sub(half.samples, x)).dataSync()))).toBeLessThan(0.6);
      half.samples.dispose();
    }
    expect(() => img2img({ model, scheduler: createScheduler('ddim'), image: x, strength: 1.5 })).toThrow(InvalidArgumentError);
    x.dispose();
  });

  it('a sampling loop and a training step do not leak', async () => {
    await expectNoLeak(() => generate({ model, scheduler: createScheduler('dpmpp-2m', { schedule }), shape: [8, 2], steps: 5, trajectoryEvery: 2 }));
    const x = tf.slice(data, [0, 0], [32, 2]);
    const small = new MLPDenoiser({ hidden: 16, blocks: 1 });
    await expectNoLeak(() => trainDenoiser({ model: small, data: x, schedule, steps: 2, batchSize: 8 }).losses);
    x.dispose();
  });
});

describe('conditioning and guidance', () => {
  it('class-conditional training with CFG separates the classes', () => {
    // two classes: points near (+2, 0) and (−2, 0)
    const rng = new Rng(3);
    const n = 400;
    const xs = new Float32Array(2 * n);
    const ys = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ys[i] = i % 2;
      xs[2 * i] = (ys[i] ? -2 : 2) + rng.normal(0, 0.2);
      xs[2 * i + 1] = rng.normal(0, 0.2);
    }
    const data = tf.tensor2d(xs, [n, 2]);
    const labels = tf.tensor1d(ys, 'int32');
    const model = new MLPDenoiser({ hidden: 32, blocks: 1, numClasses: 2, seed: 1 });
    trainDenoiser({ model, data, labels, schedule, steps: 200, batchSize: 128, lr: 5e-3, condDropout: 0.2, rng: 1 });
    for (const [cls, sign] of [[0, 1], [1, -1]] as const) {
      const { samples } = generate({ model, scheduler: createScheduler('ddim', { schedule }), shape: [200, 2], steps: 10, classLabels: [cls], guidanceScale: 3, rng: 5 });
      const xcol = Array.from(tf.slice(samples, [0, 0], [200, 1]).dataSync());
      const right = xcol.filter((v) => v * sign > 0).length / 200;
      expect(right).toBeGreaterThan(0.95);
      samples.dispose();
    }
    data.dispose();
    labels.dispose();
  });

  it('CFG with scale 1 equals the conditional model; scale 0 the unconditional one', () => {
    const model = new MLPDenoiser({ hidden: 16, blocks: 1, numClasses: 3, seed: 2 });
    const x = tf.randomNormal([4, 2], 0, 1, 'float32', 1);
    const t = tf.fill([4], 50);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const cond = model.forward(x, t, { classLabels: labels });
    const uncond = model.forward(x, t, { classLabels: tf.fill([4], 3, 'int32') });
    const g1 = classifierFreeGuidance(model, 1).forward(x, t, { classLabels: labels });
    const g0 = classifierFreeGuidance(model, 0).forward(x, t, { classLabels: labels });
    expect(tf.max(tf.abs(tf.sub(g1, cond))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.sub(g0, uncond))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('classifier guidance shifts ε̂ by −s·√(1−ᾱ)·∇ log p(y|x)', () => {
    const model = { forward: (x: Tensor) => tf.zerosLike(x) };
    // logits = [w·x₀, −w·x₀] → ∇ₓ log p(y=0|x) = w·(1 − softmax₀)·2 along x₀
    const classifier = (x: Tensor) => tf.tidy(() => { const c = tf.slice(x, [0, 0], [-1, 1]); return tf.concat([c, tf.neg(c)], 1); });
    const guided = classifierGuidance(model, { classifier, scale: 2, schedule });
    const x = tf.tensor2d([[0, 0]]);
    const out = guided.forward(x, tf.tensor1d([100]), { classLabels: tf.tensor1d([0], 'int32') }).dataSync();
    const b = Math.sqrt(1 - schedule.alphasCumprod[100]!);
    expect(out[0]).toBeCloseTo(-2 * b * 1, 4); // softmax₀ = ½ at x = 0 → gradient 2·½ = 1
    expect(out[1]).toBeCloseTo(0, 6);
  });
});

describe('U-Net, super-resolution, EMA, images, plugin', () => {
  it('U-Net maps [B, 8, 8, 1] to the same shape, with classes and a concat condition; a training step does not leak', async () => {
    const net = new UNet({ inChannels: 1, baseChannels: 8, channelMults: [1, 2], groups: 4, numClasses: 10, seed: 0 });
    const names = net.namedParameters().map(([n]) => n);
    expect(names).toContain('down.0.res.0.conv1.weight');
    expect(names).toContain('up.0.attn.0.attn.in_proj_weight');
    expect(names).toContain('mid_attn.attn.out_proj.weight');
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 3);
    const y = net.forward(x, tf.tensor1d([3, 700]), { classLabels: tf.tensor1d([1, 9], 'int32') });
    expect(y.shape).toEqual([2, 8, 8, 1]);
    expect(() => net.forward(tf.zeros([1, 7, 8, 1]), tf.tensor1d([1]))).toThrow(ShapeError);
    const lab = tf.tensor1d([0, 1], 'int32');
    await expectNoLeak(() => trainDenoiser({ model: net, data: x, labels: lab, schedule, steps: 1, batchSize: 2 }).losses);
    const sr = new UNet({ inChannels: 1, condChannels: 1, baseChannels: 8, channelMults: [1, 2], groups: 4, seed: 0 });
    const low = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 4);
    const up = upsampleCondition(low, [8, 8]);
    expect(up.shape).toEqual([2, 8, 8, 1]);
    const loss = diffusionLoss(sr, x, { schedule, cond: { concat: up }, rng: 0 });
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    const { samples, modelCalls } = superResolve({ model: sr, scheduler: createScheduler('ddim', { schedule }), lowRes: low, size: [8, 8], steps: 3 });
    expect(samples.shape).toEqual([2, 8, 8, 1]);
    expect(modelCalls).toBe(3);
    expect(() => sr.forward(x, tf.tensor1d([1, 2]))).toThrow(ShapeError);
  });

  it('EMA follows d·ema + (1−d)·θ with warm-up, and swaps weights in and out', async () => {
    const m = new MLPDenoiser({ hidden: 4, blocks: 1, seed: 0 });
    const w = m.getParameter('in_proj.weight');
    const before = Array.from(w.dataSync());
    const ema = new EMA(m, { decay: 0.9, warmup: false });
    w.assign(tf.add(w, 1));
    ema.update();
    const avg = Array.from(ema.stateDict()['in_proj.weight']!.dataSync());
    avg.forEach((v, i) => expect(v).toBeCloseTo(before[i]! + 0.1, 5));
    const inside = await ema.withAveraged(() => Array.from(m.getParameter('in_proj.weight').dataSync()));
    expect(inside[0]).toBeCloseTo(avg[0]!, 6);
    expect(m.getParameter('in_proj.weight').dataSync()[0]).toBeCloseTo(before[0]! + 1, 5);
    expect(new EMA(m).currentDecay()).toBeCloseTo(0.1, 10); // warm-up: (1 + 0)/(10 + 0)
    ema.dispose();
  });

  it('writes PNG grids and trajectory strips', () => {
    const imgs = tf.linspace(-1, 1, 4 * 6 * 6).reshape([4, 6, 6, 1]);
    const png = imageGrid(imgs, { cols: 2, padding: 1 });
    expect(Array.from(png.slice(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    const strip = trajectoryStrip([imgs, imgs, imgs], { maxRows: 2 });
    expect(strip.length).toBeGreaterThan(50);
  });

  it('registers schedulers, models and the diffusion command', async () => {
    const kit = await createKit({ backend: false, plugins: [nnPlugin, plugin] });
    expect(kit.list('schedulers')).toEqual(['ddim', 'ddpm', 'dpmpp-2m', 'euler', 'euler-ancestral', 'heun']);
    expect(kit.list('models')).toContain('unet');
    expect(kit.list('commands')).toContain('diffusion');
    const make = kit.get('schedulers', 'ddim') as (c: object) => { name: string };
    expect(make({}).name).toBe('ddim');
  });
});
