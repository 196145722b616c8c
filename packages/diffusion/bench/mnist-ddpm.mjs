// Class-conditional diffusion on MNIST with a CPU budget, scored with the metrics package's shipped
// MNIST network (FID on its 128-d features, class accuracy of its classifier on CFG samples).
//
// Usage: node packages/diffusion/bench/mnist-ddpm.mjs [options]
//   --model unet|mlp       denoiser (default unet: base 32, mults 1,2,2; mlp: 784 → 512 × 3 blocks, a
//                          pipeline smoke test only: a hidden width below 784 bottlenecks the identity path)
//   --base 32 --mults 1,2,2 --hidden 512 --blocks 3   model sizes
//   --train-minutes 6      training budget (stops at whichever of --steps / the budget comes first)
//   --steps 100000 --batch 64 --lr 2e-3 --ema 0.995
//   --n 500                samples per FID (real digits: the same number of held-out test digits)
//   --guidance 3           classifier-free guidance scale of the DDIM-50 samples
//   --ddpm1000 N           also sample N digits with DDPM (1000 steps) and N with DDIM-50, both at
//                          --guidance, and compare their FIDs (costs 20× the DDIM sampling)
//   --backend native       native | wasm | cpu (falls back in that order when unavailable)
//   --time-backends        time a few training steps on every available backend first
//   --out mnist-ddpm-grid.png
// Prints JSON. FID at a few hundred samples is biased upwards: the real-vs-real FID at the same
// sample size (two disjoint sets of real digits) is printed as the floor to read it against.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { rngFor, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { mnistFeatureExtractor, mnistFid } from '@nutshell/metrics';
import { AdamW } from '@nutshell/nn';
import { createScheduler, diffusionLoss, EMA, generate, imageGrid, MLPDenoiser, NoiseSchedule, UNet } from '@nutshell/diffusion';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'unet' },
    base: { type: 'string', default: '32' },
    mults: { type: 'string', default: '1,2,2' },
    hidden: { type: 'string', default: '512' },
    blocks: { type: 'string', default: '3' },
    'train-minutes': { type: 'string', default: '6' },
    steps: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '2e-3' },
    ema: { type: 'string', default: '0.995' },
    n: { type: 'string', default: '500' },
    guidance: { type: 'string', default: '3' },
    ddpm1000: { type: 'string', default: '0' },
    backend: { type: 'string', default: 'native' },
    'time-backends': { type: 'boolean', default: false },
    out: { type: 'string', default: 'mnist-ddpm-grid.png' },
    seed: { type: 'string', default: '0' },
  },
});
const num = (k) => Number(a[k]);
const started = performance.now();
const seconds = (t0) => Math.round((performance.now() - t0) / 10) / 100;
const log = (m) => console.error(`[${seconds(started)}s] ${m}`);

const flat = a.model === 'mlp';
const mnist = await loadMnist({ range: [-1, 1], flatten: flat });
const imageShape = flat ? [784] : [28, 28, 1];
const trainX = tf.tensor(mnist.train.x, [mnist.train.length, ...imageShape]);
const trainY = tf.tensor1d(Int32Array.from(mnist.train.y), 'int32');
const schedule = new NoiseSchedule({ betaSchedule: 'cosine' });
const makeModel = () => (flat
  ? new MLPDenoiser({ dim: 784, hidden: num('hidden'), blocks: num('blocks'), numClasses: 10, seed: num('seed') })
  : new UNet({ baseChannels: num('base'), channelMults: a.mults.split(',').map(Number), numClasses: 10, seed: num('seed') }));
const result = { command: `node packages/diffusion/bench/mnist-ddpm.mjs ${process.argv.slice(2).join(' ')}`.trim(), model: a.model, trainDigits: mnist.train.length, schedule: 'cosine, T = 1000', backends: {} };

async function tryBackend(name) {
  let importError;
  try {
    // The package's default export is its backend plugin; the cpu backend needs no package.
    const plugin = name === 'cpu' ? name : (await import(`@nutshell/backend-${name}`).catch((e) => { importError = e; return undefined; }))?.default ?? name;
    await useBackend(plugin);
    return true;
  } catch (e) {
    result.backends[name] = { error: String(e.message ?? e), ...(importError ? { importError: String(importError.message ?? importError) } : {}) };
    return false;
  }
}

/** One training run: AdamW on the denoising loss with 10% label dropout (for CFG), EMA of the weights. */
function train(model, { steps, minutes, batch }) {
  const rng = rngFor(num('seed'));
  const opt = new AdamW(model, { lr: num('lr'), weightDecay: 0, maxGradNorm: 1 });
  const ema = new EMA(model, { decay: num('ema') });
  const N = trainX.shape[0];
  const losses = [];
  const t0 = performance.now();
  model.train();
  for (let s = 0; s < steps && performance.now() - t0 < minutes * 60_000; s++) {
    const idx = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(N)), 'int32');
    const x0 = tf.gather(trainX, idx);
    const y = tf.gather(trainY, idx);
    losses.push(opt.minimize(() => diffusionLoss(model, x0, { schedule, cond: { classLabels: y }, condDropout: 0.1, rng })));
    ema.update();
    tf.dispose([idx, x0, y]);
    if (s % 100 === 0) log(`step ${s} loss ${losses.at(-1).toFixed(4)}`);
  }
  model.eval();
  opt.dispose();
  return { losses, ema, seconds: seconds(t0) };
}

if (a['time-backends']) {
  for (const b of ['native', 'wasm', 'cpu']) {
    // tfjs' plain-JS cpu backend takes tens of seconds per U-Net step: time it only as a fallback.
    if (b === 'cpu' && Object.values(result.backends).some((v) => v.secondsPerStep)) { result.backends.cpu = { skipped: 'a faster backend is available' }; continue; }
    if (!(await tryBackend(b))) continue;
    const net = makeModel();
    train(net, { steps: 1, minutes: 60, batch: num('batch') }).ema.dispose();
    const { seconds: s, ema } = train(net, { steps: 2, minutes: 60, batch: num('batch') });
    ema.dispose();
    net.dispose?.();
    result.backends[b] = { secondsPerStep: s / 2, batch: num('batch') };
    log(`${b}: ${s / 2} s per training step`);
  }
}
let backend = a.backend;
for (const b of [a.backend, 'native', 'wasm', 'cpu']) if (await tryBackend(b)) { backend = b; break; }
result.backend = backend;

const model = makeModel();
result.parameters = model.numParameters?.();
const run = train(model, { steps: num('steps'), minutes: num('train-minutes'), batch: num('batch') });
result.trainSteps = run.losses.length;
result.batch = num('batch');
result.trainSeconds = run.seconds;
result.lossFirst20 = run.losses.slice(0, 20).reduce((s, v) => s + v, 0) / Math.min(20, run.losses.length);
result.lossLast50 = run.losses.slice(-50).reduce((s, v) => s + v, 0) / Math.min(50, run.losses.length);
run.ema.copyTo(model);
run.ema.dispose();
log(`trained ${result.trainSteps} steps in ${run.seconds} s`);

const extractor = await mnistFeatureExtractor({ range: [-1, 1] });
const n = num('n');
const testX = mnist.test.x;
const realTest = testX.subarray(0, n * 784);
const realTrain = mnist.train.x.subarray(0, n * 784);
result.fidRealVsReal = (await mnistFid(realTrain, realTest, { extractor })).value;

/** n class-conditional samples (labels 0…9 in turn) with a scheduler; returns samples and timing. */
function sample(scheduler, steps, count, guidance, seed) {
  const labels = Array.from({ length: count }, (_, i) => i % 10);
  const t0 = performance.now();
  const chunks = [];
  for (let start = 0; start < count; start += 250) {
    const m = Math.min(250, count - start);
    const { samples } = generate({ model, scheduler: createScheduler(scheduler, { schedule }), shape: [m, ...imageShape], steps, classLabels: labels.slice(start, start + m), guidanceScale: guidance, rng: seed + start });
    chunks.push(samples);
  }
  const all = tf.concat(chunks);
  tf.dispose(chunks);
  const clipped = tf.tidy(() => tf.reshape(tf.clipByValue(all, -1, 1), [count, 28, 28, 1]));
  all.dispose();
  return { samples: clipped, labels, seconds: seconds(t0) };
}

async function score(s, real) {
  const pred = extractor.predict(s.samples);
  const acc = pred.reduce((k, p, i) => k + (p === s.labels[i] ? 1 : 0), 0) / pred.length;
  return { fid: (await mnistFid(real, s.samples, { extractor })).value, classAccuracy: acc, sampleSeconds: s.seconds, count: s.labels.length };
}

const guidance = num('guidance');
const ddim = sample('ddim', 50, n, guidance, 1);
result.ddim50 = { guidance, ...(await score(ddim, realTest)) };
writeFileSync(a.out, imageGrid(tf.slice(ddim.samples, 0, Math.min(100, n)), { cols: 10 }));
result.grid = a.out;
log(`DDIM-50: ${JSON.stringify(result.ddim50)}`);
ddim.samples.dispose();

const m = num('ddpm1000');
if (m > 0) {
  const ddpm = sample('ddpm', 1000, m, guidance, 2);
  const realM = testX.subarray(0, m * 784);
  const ddimM = sample('ddim', 50, m, guidance, 2);
  result.ddpmVsDdim = { count: m, guidance, ddpm1000: await score(ddpm, realM), ddim50: await score(ddimM, realM), fidRealVsReal: (await mnistFid(mnist.train.x.subarray(0, m * 784), realM, { extractor })).value };
  const r = result.ddpmVsDdim;
  r.ddimOverDdpmFid = r.ddim50.fid / r.ddpm1000.fid;
  tf.dispose([ddpm.samples, ddimM.samples]);
}
extractor.dispose();
result.totalSeconds = seconds(started);
console.log(JSON.stringify(result, null, 1));
