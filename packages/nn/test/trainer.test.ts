import { tf, type Tensor } from '@nutshell/core';
import { measureTensors } from '@nutshell/core/testing';
import {
  Adam, AdamW, Checkpoint, DataLoader, EarlyStopping, MLP, NonFiniteError, ProgressLogger, SGD, Trainer, VAE, SmallCNN, Autoencoder,
  accuracy, bceWithLogitsLoss, binaryAccuracy, crossEntropy, interpolateLatent, mseLoss, schedules, type Module,
} from '@nutshell/nn';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const xorX = tf.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const xorY = tf.tensor([[0], [1], [1], [0]]);
type XY = [Tensor, Tensor];

describe('reference models', () => {
  it('XOR 2-8-1 MLP reaches 100% accuracy', async () => {
    const model = new MLP({ sizes: [2, 8, 1], activation: 'tanh', seed: 0 });
    const trainer = new Trainer<XY>({
      model, optimizer: new Adam(model, { lr: 0.05 }),
      loss: (m, [x, y]) => bceWithLogitsLoss(m.forward(x), y),
    });
    await trainer.fit(new DataLoader([xorX, xorY], { batchSize: 4 }), { epochs: 500 });
    const logits = model.forward(xorX);
    expect(binaryAccuracy(logits, xorY)).toBe(1);
    expect(trainer.history.steps.at(-1)!.loss).toBeLessThan(0.05);
    expect(trainer.history.steps).toHaveLength(500);
  });

  it('SmallCNN, Autoencoder and VAE have the expected shapes and parameter names', () => {
    const cnn = new SmallCNN({ seed: 1, imageSize: 8, channels: [2, 3], hidden: 5, numClasses: 4 });
    expect(cnn.forward(tf.zeros([2, 8, 8, 1])).shape).toEqual([2, 4]);
    expect(cnn.namedParameters().map(([n]) => n)[0]).toBe('0.weight');
    const ae = new Autoencoder({ inFeatures: 6, hidden: [4], latent: 2, seed: 1 });
    expect(ae.forward(tf.zeros([3, 6])).shape).toEqual([3, 6]);
    const vae = new VAE({ inFeatures: 6, hidden: [5], latent: 2, seed: 1 });
    expect(vae.namedParameters().map(([n]) => n)).toContain('log_var.weight');
    const { loss, recon, kl } = vae.elbo(tf.fill([3, 6], 0.5));
    expectScalarClose(tf.add(recon, kl), loss);
    expect(vae.sample(4, 3).shape).toEqual([4, 6]);
    const path = interpolateLatent(tf.tensor([1, 0]), tf.tensor([0, 1]), 3, 'slerp');
    const mid = Array.from(path.dataSync()).slice(2, 4);
    expect(mid[0]).toBeCloseTo(Math.SQRT1_2, 5);
    expect(mid[1]).toBeCloseTo(Math.SQRT1_2, 5);
  });

  it('VAE training lowers the negative ELBO, reporting recon and KL', async () => {
    const data = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([64, 12], 0, 1, 'float32', 3), 0.5), 'float32'));
    const vae = new VAE({ inFeatures: 12, hidden: [16], latent: 2, seed: 2 });
    const opt = new Adam(vae, { lr: 0.01 });
    const before = vae.elbo(data);
    const first = before.loss.dataSync()[0]!;
    for (let i = 0; i < 60; i++) opt.minimize(() => vae.elbo(data).loss);
    const after = vae.elbo(data);
    expect(after.loss.dataSync()[0]!).toBeLessThan(first);
    expect(after.kl.dataSync()[0]!).toBeGreaterThanOrEqual(0);
  });
});

function expectScalarClose(a: Tensor, b: Tensor): void {
  expect(a.dataSync()[0]!).toBeCloseTo(b.dataSync()[0]!, 5);
}

function setup(seed = 0) {
  const x = tf.randomNormal([40, 4], 0, 1, 'float32', 11);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1), 0), 'int32'));
  const model = new MLP({ sizes: [4, 8, 2], dropout: 0.2, seed });
  const optimizer = new AdamW(model, { lr: 0.01 });
  return { x, y, model, optimizer };
}

const ceLoss = (m: Module, [x, y]: XY) => crossEntropy(m.forward(x), y);

describe('Trainer', () => {
  it('checkpoint → fresh process-like restart → resume gives bit-identical losses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nn-ckpt-'));
    const ckpt = join(dir, 'ckpt.safetensors');
    const run = () => {
      const s = setup();
      const trainer = new Trainer<XY>({
        model: s.model, optimizer: s.optimizer, loss: ceLoss, schedule: schedules.cosineWithWarmup({ warmupSteps: 3, totalSteps: 30 }),
        accumulateSteps: 2,
      });
      return { ...s, trainer, data: new DataLoader([s.x, s.y], { batchSize: 4, shuffle: true, seed: 5 }) };
    };
    const a = run();
    a.trainer.callbacks.push(new Checkpoint(ckpt, { every: 7 }));
    await a.trainer.fit(a.data, { maxSteps: 17 });
    const straight = a.trainer.history.steps.map((s) => s.loss);
    expect(straight).toHaveLength(17);
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);

    const b = run(); // new model, optimizer, loader: only the file carries state
    await b.trainer.fit(b.data, { maxSteps: 17, resumeFrom: ckpt });
    expect(b.trainer.history.steps.map((s) => s.loss)).toEqual(straight);
    expect(Array.from(b.model.getParameter('0.weight').dataSync())).toEqual(Array.from(a.model.getParameter('0.weight').dataSync()));
    expect(b.trainer.history.steps.map((s) => s.lr)).toEqual(a.trainer.history.steps.map((s) => s.lr));
  });

  it('1000 training steps leak no tensors', async () => {
    const s = setup(1);
    const trainer = new Trainer<XY>({ model: s.model, optimizer: s.optimizer, loss: ceLoss, maxGradNorm: 1 });
    const data = new DataLoader([s.x, s.y], { batchSize: 8, shuffle: true });
    await trainer.fit(data, { maxSteps: 1 }); // optimizer state is created on the first step
    const r = await measureTensors(() => trainer.fit(data, { maxSteps: 1001 }));
    expect(trainer.step).toBe(1001);
    expect(r.leaked).toBe(0);
  });

  it('NaN loss stops training with a NonFiniteError naming the step', async () => {
    const s = setup();
    const bad = tf.tensor([[NaN, 0, 0, 0]]);
    const trainer = new Trainer<XY>({ model: s.model, optimizer: s.optimizer, loss: (m, [x, y]) => crossEntropy(m.forward(tf.add(x, bad)), y) });
    await expect(trainer.fit(new DataLoader([s.x, s.y], { batchSize: 8 }))).rejects.toThrow(NonFiniteError);
    await expect(trainer.fit(new DataLoader([s.x, s.y], { batchSize: 8 }))).rejects.toThrow(/the loss is NaN at step 1/);
  });

  it('evaluates, logs JSON lines off a TTY, early-stops and restores the best weights', async () => {
    const s = setup();
    const lines: string[] = [];
    const stream = { write: (t: string) => lines.push(t), isTTY: false };
    const early = new EarlyStopping({ monitor: 'loss', patience: 2 });
    const trainer = new Trainer<XY>({
      model: s.model, optimizer: new SGD(s.model, { lr: 0.5 }), loss: ceLoss,
      metrics: (m, [x, y]) => ({ acc: accuracy(m.forward(x), y) }),
      callbacks: [new ProgressLogger({ stream, every: 1 }), early],
    });
    // eval labels are flipped, so learning the training labels makes the eval loss worse
    const evalData = new DataLoader([s.x, tf.sub(tf.scalar(1, 'int32'), s.y)], { batchSize: 20 });
    await trainer.fit(new DataLoader([s.x, s.y], { batchSize: 8 }), { epochs: 50, evalData, evalEvery: 1 });
    expect(early.stoppedEarly).toBe(true);
    expect(trainer.step).toBe(3); // best at the first eval, then patience 2
    const events = lines.map((l) => JSON.parse(l));
    expect(events.some((e) => e.event === 'step' && typeof e.lr === 'number')).toBe(true);
    expect(events.find((e) => e.event === 'eval').metrics).toHaveProperty('acc');
    // restored weights reproduce the best eval loss
    expect(trainer.evaluate(evalData).loss).toBeCloseTo(early.best!, 5);
  });

  it('progress bar on a TTY redraws one line', async () => {
    const s = setup();
    let out = '';
    const trainer = new Trainer<XY>({
      model: s.model, optimizer: s.optimizer, loss: ceLoss,
      callbacks: [new ProgressLogger({ stream: { write: (t: string) => (out += t), isTTY: true } })],
    });
    await trainer.fit(new DataLoader([s.x, s.y], { batchSize: 8 }), { epochs: 1 });
    expect(out).toMatch(/\r\[=+\s*\] step 5\/5 epoch 0 loss \d\.\d{4} lr 1\.00e-2/);
  });
});

describe('regression sanity', () => {
  it('mseLoss through the Trainer fits y = 3x', async () => {
    const x = tf.reshape(tf.linspace(-1, 1, 16), [16, 1]);
    const y = tf.mul(x, 3);
    const model = new MLP({ sizes: [1, 1], seed: 3 });
    const trainer = new Trainer<XY>({ model, optimizer: new SGD(model, { lr: 0.3, momentum: 0.5 }), loss: (m, [a, b]) => mseLoss(m.forward(a), b) });
    await trainer.fit(new DataLoader([x, y], { batchSize: 16 }), { epochs: 100 });
    expect(model.getParameter('0.weight').dataSync()[0]).toBeCloseTo(3, 3);
  });
});
