import { InvalidArgumentError, NutshellError, Rng, tf, type CommandInput, type CommandSpec, type Tensor } from '@nutshell/core';
import { Adam, DataLoader, loadSafetensorsInto, stateDictToSafetensors, writeFileAtomic, type Module } from '@nutshell/nn';
import { modeCoverage, ringCenters } from './diagnostics.js';
import { checkLossKind, type GanLossKind } from './losses.js';
import { DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator } from './models/dcgan.js';
import { encodePng, imageGrid, writeImageGrid } from './png.js';
import { GanTrainer } from './trainer.js';

/** What `gan train` saves next to the weights, so `gan sample` can rebuild the generator. */
export interface SavedGanConfig {
  format: 'nutshell-gan-model';
  model: 'dcgan' | 'mlp';
  latentDim: number;
  width?: number;
  hidden?: number[];
  steps: number;
  loss: GanLossKind;
}

function buildGenerator(cfg: SavedGanConfig, seed: number): Module {
  return cfg.model === 'dcgan' ? new DCGANGenerator({ latentDim: cfg.latentDim, width: cfg.width, seed }) : new MLPGenerator(cfg.latentDim, 2, { hidden: cfg.hidden, seed });
}

/** A 2-D point cloud rendered as a white-on-black PNG (for the ring model). */
function scatterPng(points: Float32Array | Int32Array | Uint8Array, extent = 3, size = 256): Uint8Array {
  const data = new Float32Array(size * size).fill(-1);
  for (let i = 0; i + 1 < points.length; i += 2) {
    const px = Math.round(((points[i]! + extent) / (2 * extent)) * (size - 1));
    const py = Math.round(((extent - points[i + 1]!) / (2 * extent)) * (size - 1));
    if (px >= 0 && px < size && py >= 0 && py < size) data[py * size + px] = 1;
  }
  return encodePng(imageGrid({ data, shape: [1, size, size, 1] }, { padding: 0 }));
}

async function ringData(n: number, seed: number): Promise<Tensor> {
  const rng = new Rng(seed).fork('ring');
  const centres = ringCenters(8, 2);
  const x = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [cx, cy] = centres[rng.int(8)]!;
    x[2 * i] = cx + rng.normal(0, 0.02);
    x[2 * i + 1] = cy + rng.normal(0, 0.02);
  }
  return tf.tensor(x, [n, 2]);
}

async function mnistData(): Promise<Tensor> {
  // Optional: the CLI ships @nutshell/datasets; this package does not depend on it.
  const name = '@nutshell/datasets';
  let mod: { loadMnist(o: object): Promise<{ train: { x: Float32Array; length: number } }> };
  try {
    mod = await import(name);
  } catch {
    throw new NutshellError('E_MISSING_PACKAGE', 'gan train --data mnist needs @nutshell/datasets installed (npm i @nutshell/datasets)');
  }
  const m = await mod.loadMnist({ range: [-1, 1], seed: 0 });
  return tf.tensor(m.train.x, [m.train.length, 28, 28, 1]);
}

async function train(input: CommandInput): Promise<unknown> {
  const o = input.options;
  const out = String(o.out ?? 'gan-out');
  const steps = Number(o.steps ?? 200);
  const dataName = String(o.data ?? 'ring');
  const loss = String(o.loss ?? (dataName === 'ring' ? 'lsgan' : 'non-saturating'));
  checkLossKind(loss);
  const seed = Number(o.seed ?? 0);
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError(`gan train: --steps must be a positive integer, got ${o.steps}`);
  if (dataName !== 'ring' && dataName !== 'mnist') throw new InvalidArgumentError(`gan train: --data must be ring or mnist, got ${dataName}`);
  const cfg: SavedGanConfig = dataName === 'ring'
    ? { format: 'nutshell-gan-model', model: 'mlp', latentDim: 4, hidden: [64, 64], steps, loss }
    : { format: 'nutshell-gan-model', model: 'dcgan', latentDim: 64, width: Number(o.width ?? 32), steps, loss };
  const x = dataName === 'ring' ? await ringData(2048, seed) : await mnistData();
  const G = buildGenerator(cfg, seed);
  const D = cfg.model === 'dcgan' ? new DCGANDiscriminator({ width: cfg.width, seed: seed + 1 }) : new MLPDiscriminator(2, { hidden: cfg.hidden, seed: seed + 1 });
  const lr = Number(o.lr ?? 2e-3);
  const trainer = new GanTrainer({
    generator: G, discriminator: D, latentDim: cfg.latentDim, loss, seed,
    optimizerG: new Adam(G, { lr: cfg.model === 'dcgan' ? 2e-4 : lr, betas: [0.5, 0.999] }),
    optimizerD: new Adam(D, { lr: cfg.model === 'dcgan' ? 2e-4 : lr, betas: [0.5, 0.999] }),
    samples: cfg.model === 'dcgan' ? { every: Number(o['sample-every'] ?? 100), dir: `${out}/samples` } : undefined,
    log: input.json ? false : { every: Number(o['log-every'] ?? 50), mode: 'json' },
  });
  const t0 = Date.now();
  try {
    await trainer.fit(new DataLoader(x, { batchSize: 64, shuffle: true, seed }), { steps });
  } finally {
    x.dispose();
  }
  const fs = await import('node:fs/promises');
  await fs.mkdir(out, { recursive: true });
  await writeFileAtomic(`${out}/generator.safetensors`, stateDictToSafetensors(G));
  await writeFileAtomic(`${out}/gan.json`, JSON.stringify(cfg, null, 2));
  const last = trainer.history.at(-1)!;
  const result: Record<string, unknown> = { out, model: cfg.model, steps, loss, seconds: (Date.now() - t0) / 1000, dLoss: last.dLoss, gLoss: last.gLoss, grids: trainer.grids };
  if (cfg.model === 'mlp') {
    const s = tf.tidy(() => G.forward(new Rng(seed + 99).normalTensor([1000, cfg.latentDim])));
    const cov = modeCoverage(s, ringCenters(8, 2), { threshold: 0.5, minCount: 10 });
    await writeFileAtomic(`${out}/samples.png`, scatterPng(s.dataSync() as Float32Array));
    s.dispose();
    result.modesCovered = cov.covered;
  }
  trainer.dispose();
  input.print(`trained ${cfg.model} GAN for ${steps} steps → ${out}/generator.safetensors`);
  return result;
}

async function sample(input: CommandInput): Promise<unknown> {
  const o = input.options;
  const dir = o.model;
  if (typeof dir !== 'string') throw new InvalidArgumentError('gan sample: --model DIR (a folder written by `nutshell gan train`) is required');
  const out = String(o.out ?? 'grid.png');
  const n = Number(o.count ?? 64);
  const fs = await import('node:fs/promises');
  const cfg = JSON.parse(await fs.readFile(`${dir}/gan.json`, 'utf8')) as SavedGanConfig;
  if (cfg.format !== 'nutshell-gan-model') throw new InvalidArgumentError(`gan sample: ${dir}/gan.json is not a nutshell GAN config`);
  const G = buildGenerator(cfg, 0);
  loadSafetensorsInto(G, new Uint8Array(await fs.readFile(`${dir}/generator.safetensors`)));
  G.eval();
  const x = tf.tidy(() => G.forward(new Rng(Number(o.seed ?? 0)).normalTensor([n, cfg.latentDim])));
  try {
    if (cfg.model === 'dcgan') await writeImageGrid(out, x);
    else await writeFileAtomic(out, scatterPng(x.dataSync() as Float32Array));
  } finally {
    x.dispose();
    G.dispose();
  }
  input.print(`wrote ${n} samples to ${out}`);
  return { out, count: n, model: cfg.model };
}

export const ganCommand: CommandSpec = {
  summary: 'train a GAN (8-Gaussian ring or MNIST DCGAN) or sample a trained one',
  description: 'nutshell gan train [--data ring|mnist] [--steps N] [--loss KIND] --out DIR\nnutshell gan sample --model DIR [--count 64] --out grid.png',
  args: [{ name: 'action', description: 'train | sample', required: true }],
  options: [
    { name: 'steps', type: 'number', description: 'generator steps (train)', default: 200 },
    { name: 'data', type: 'string', description: 'ring (synthetic, fast) or mnist (needs @nutshell/datasets)', default: 'ring' },
    { name: 'loss', type: 'string', description: 'minimax | non-saturating | wasserstein | hinge | lsgan' },
    { name: 'lr', type: 'number', description: 'Adam learning rate for the ring model', default: 2e-3 },
    { name: 'width', type: 'number', description: 'DCGAN width (mnist)', default: 32 },
    { name: 'sample-every', type: 'number', description: 'write a sample grid every N steps (mnist)', default: 100 },
    { name: 'log-every', type: 'number', description: 'JSON log line every N steps', default: 50 },
    { name: 'model', type: 'string', description: 'folder written by gan train (sample)' },
    { name: 'count', type: 'number', description: 'samples to draw (sample)', default: 64 },
  ],
  needsBackend: true,
  run(input) {
    const action = input.args[0];
    if (action === 'train') return train(input);
    if (action === 'sample') return sample(input);
    throw new InvalidArgumentError(`gan: expected 'train' or 'sample', got ${JSON.stringify(action)}`);
  },
};
