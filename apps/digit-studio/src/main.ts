import { tf, useBackend, Rng } from '@nutshell/core';
import '@nutshell/backend-wasm';
import { createScheduler, diffusionLoss, generate, MLPDenoiser, NoiseSchedule, SCHEDULERS } from '@nutshell/diffusion';
import { kid, slicedWasserstein } from '@nutshell/metrics';
import { AdamW } from '@nutshell/nn';

/** Embeds only diffusion + metrics on the wasm backend; everything else stays out of the bundle. */
const $ = (id: string) => document.getElementById(id)!;
const num = (id: string) => Number(($(id) as HTMLInputElement).value);
const status = (text: string, state = 'ready') => {
  $('status').textContent = text;
  $('status').dataset.state = state;
};
const DIM = 196;
const N_SAMPLES = 64;

// 14×14 MNIST digits as bytes: N labels, then N × 196 pixels (made at build time from the mnist package).
const bytes = new Uint8Array(await (await fetch(new URL('data/mnist-14.bin', document.baseURI))).arrayBuffer());
const count = bytes.length / 197;
const pixels = Float32Array.from(bytes.subarray(count), (v) => (v / 255) * 2 - 1);
$('count').textContent = String(count);

const picked = await useBackend('auto');
const data = tf.tensor2d(pixels, [count, DIM]);
const schedule = new NoiseSchedule({ betaSchedule: 'linear' });
const model = new MLPDenoiser({ dim: DIM, hidden: 256, blocks: 2, seed: 0 });
const optimizer = new AdamW(model, { lr: 2e-3 });
const rng = new Rng(0);
($('sampler') as HTMLSelectElement).replaceChildren(...Object.keys(SCHEDULERS).map((n) => new Option(n, n)));
($('sampler') as HTMLSelectElement).value = 'ddim';

function draw(values: Float32Array, n: number): void {
  const cols = Math.ceil(Math.sqrt(n));
  const side = 14;
  const img = new ImageData(cols * side, cols * side);
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < side * side; p++) {
      const x = (k % cols) * side + (p % side);
      const y = Math.floor(k / cols) * side + Math.floor(p / side);
      const g = Math.round(255 * Math.min(1, Math.max(0, (values[k * DIM + p]! + 1) / 2)));
      img.data.set([g, g, g, 255], (y * cols * side + x) * 4);
    }
  }
  const small = document.createElement('canvas');
  small.width = small.height = cols * side;
  small.getContext('2d')!.putImageData(img, 0, 0);
  const ctx = ($('grid') as HTMLCanvasElement).getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, 300, 300);
}

async function train(): Promise<void> {
  model.train();
  for (let i = 0; i < num('steps'); i++) {
    const idx = tf.tensor1d(Int32Array.from({ length: 64 }, () => rng.int(count)), 'int32');
    const x0 = tf.gather(data, idx);
    const loss = optimizer.minimize(() => diffusionLoss(model, x0, { schedule, rng }), { maxGradNorm: 1 });
    tf.dispose([idx, x0]);
    $('step').textContent = String(Number($('step').textContent) + 1);
    $('loss').textContent = loss.toFixed(4);
    await new Promise((r) => setTimeout(r, 0));
  }
  model.eval();
}

async function sampleAndScore(): Promise<void> {
  const scheduler = createScheduler(($('sampler') as HTMLSelectElement).value, { schedule });
  const { samples } = generate({ model, scheduler, shape: [N_SAMPLES, DIM], steps: num('sample-steps'), rng: 3 });
  const values = (await samples.data()) as Float32Array;
  samples.dispose();
  draw(values, 16);
  // Pixel-space scores against the same number of real digits (lower is closer).
  const real = pixels.subarray(0, N_SAMPLES * DIM);
  const a = { shape: [N_SAMPLES, DIM], data: values };
  const b = { shape: [N_SAMPLES, DIM], data: real };
  const swd = slicedWasserstein(a, b, { seed: 0 });
  const k = kid(a, b, { subsets: 4, subsetSize: 32, seed: 0 });
  $('scores').textContent = `sliced Wasserstein ${swd.value.toFixed(4)} · KID ${k.value.toFixed(4)} (pixels, ${N_SAMPLES} samples)`;
  $('scores').dataset.swd = String(swd.value);
}

const run = (fn: () => Promise<void>) => () => {
  status('working…', 'busy');
  fn().then(() => status(`ready on ${picked.name}`), (e: Error) => status(`${e.name}: ${e.message}`, 'failed'));
};
$('train').addEventListener('click', run(train));
$('sample').addEventListener('click', run(sampleAndScore));
status(`ready on ${picked.name}`);
