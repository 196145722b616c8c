import { Rng, tf, type Tensor } from '@nutshell/core';
import { createScheduler, diffusionLoss, generate, MLPDenoiser, NoiseSchedule, SCHEDULERS } from '@nutshell/diffusion';
import { discriminatorLoss, generatorLoss, MLPDiscriminator, MLPGenerator } from '@nutshell/gan';
import { Adam, AdamW } from '@nutshell/nn';
import { loadDigits } from './assets.js';
import { onBackendChange } from './backend-page.js';
import { $, nextFrame, numberInput, onClick } from './dom.js';
import { drawGrid } from './grid.js';

const SIDE = 14;
const DIM = SIDE * SIDE;
const GRID = 16;
const LATENT = 32;

interface DiffusionRun {
  kind: 'diffusion';
  model: MLPDenoiser;
  optimizer: AdamW;
  schedule: NoiseSchedule;
}
interface GanRun {
  kind: 'gan';
  G: MLPGenerator;
  D: MLPDiscriminator;
  optG: Adam;
  optD: Adam;
  /** Fixed latents, so the grid shows the same samples improving. */
  z: Tensor;
}
type Run = (DiffusionRun | GanRun) & { data: Tensor; step: number; rng: Rng };

let run: Run | undefined;
let busy = false;
let stopRequested = false;

function dropRun(): void {
  if (!run) return;
  if (run.kind === 'diffusion') {
    run.optimizer.dispose();
    run.model.dispose();
  } else {
    run.optG.dispose();
    run.optD.dispose();
    run.G.dispose();
    run.D.dispose();
    run.z.dispose();
  }
  run.data.dispose();
  run = undefined;
  $('img-step').textContent = '0';
  $('img-loss').textContent = '–';
}

async function ensureRun(): Promise<Run> {
  const kind = $<HTMLSelectElement>('img-model').value as 'diffusion' | 'gan';
  if (run?.kind === kind) return run;
  dropRun();
  const digits = await loadDigits();
  // Pixels in [-1, 1], the range both models generate in.
  const data = tf.tidy(() => tf.sub(tf.mul(tf.tensor2d(digits.pixels, [digits.count, DIM]), 2), 1));
  const rng = new Rng(0);
  if (kind === 'diffusion') {
    const model = new MLPDenoiser({ dim: DIM, hidden: 256, blocks: 2, seed: 0 });
    const optimizer = new AdamW(model, { lr: 2e-3, weightDecay: 0 });
    run = { kind, model, optimizer, schedule: new NoiseSchedule({ betaSchedule: 'linear' }), data, step: 0, rng };
  } else {
    const G = new MLPGenerator(LATENT, DIM, { hidden: [128, 256], seed: 1 });
    const D = new MLPDiscriminator(DIM, { hidden: [256, 128], seed: 2 });
    run = {
      kind, G, D, data, step: 0, rng,
      optG: new Adam(G, { lr: 1e-3, betas: [0.5, 0.999] }),
      optD: new Adam(D, { lr: 1e-3, betas: [0.5, 0.999] }),
      z: rng.normalTensor([GRID, LATENT]),
    };
  }
  return run;
}

function realBatch(r: Run, size: number): Tensor {
  const idx = Int32Array.from({ length: size }, () => r.rng.int(r.data.shape[0]!));
  return tf.tidy(() => tf.gather(r.data, tf.tensor1d(idx, 'int32')));
}

/** One optimisation step; returns the loss shown in the page. */
function trainStep(r: Run): number {
  const x0 = realBatch(r, 64);
  try {
    if (r.kind === 'diffusion') {
      return r.optimizer.minimize(() => diffusionLoss(r.model, x0, { schedule: r.schedule, rng: r.rng }), { maxGradNorm: 1 });
    }
    const z = r.rng.normalTensor([64, LATENT]);
    try {
      const gen = () => tf.tanh(r.G.forward(z));
      const fake = tf.tidy(() => gen());
      const dLoss = r.optD.minimize(() => discriminatorLoss('non-saturating', r.D.forward(x0), r.D.forward(fake)));
      fake.dispose();
      r.optG.minimize(() => generatorLoss('non-saturating', r.D.forward(gen())));
      return dLoss;
    } finally {
      z.dispose();
    }
  } finally {
    x0.dispose();
  }
}

async function sampleGrid(r: Run): Promise<void> {
  let samples: Tensor;
  if (r.kind === 'diffusion') {
    const scheduler = createScheduler($<HTMLSelectElement>('img-sampler').value, { schedule: r.schedule });
    samples = generate({ model: r.model, scheduler, shape: [GRID, DIM], steps: numberInput('img-sample-steps', 20), rng: 7 }).samples;
  } else {
    samples = tf.tidy(() => tf.tanh(r.G.forward(r.z)));
  }
  const data = await samples.data();
  samples.dispose();
  drawGrid($<HTMLCanvasElement>('img-grid'), data, GRID, SIDE);
}

async function train(): Promise<void> {
  if (busy) return;
  busy = true;
  stopRequested = false;
  try {
    const r = await ensureRun();
    const steps = numberInput('img-steps', 60);
    const every = Math.max(1, numberInput('img-every', 20));
    for (let i = 0; i < steps && !stopRequested; i++) {
      const loss = trainStep(r);
      if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${r.step}`);
      r.step++;
      $('img-step').textContent = String(r.step);
      $('img-loss').textContent = loss.toFixed(4);
      if (r.step % every === 0 || i === steps - 1) await sampleGrid(r);
      await nextFrame();
    }
  } finally {
    busy = false;
  }
}

async function sampleOnly(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    await sampleGrid(await ensureRun());
  } finally {
    busy = false;
  }
}

export function initImagePage(): void {
  onBackendChange(dropRun);
  const sampler = $<HTMLSelectElement>('img-sampler');
  sampler.replaceChildren(...Object.keys(SCHEDULERS).map((n) => new Option(n, n)));
  sampler.value = 'ddim';
  $('img-model').addEventListener('change', () => {
    sampler.disabled = $<HTMLSelectElement>('img-model').value !== 'diffusion';
  });
  onClick('img-train', train);
  onClick('img-stop', () => void (stopRequested = true));
  onClick('img-sample', sampleOnly);
  void loadDigits().then((d) => {
    $('mnist-count').textContent = String(d.count);
    drawGrid($<HTMLCanvasElement>('img-real'), d.pixels.subarray(0, GRID * DIM), GRID, SIDE, [0, 1]);
  });
}
