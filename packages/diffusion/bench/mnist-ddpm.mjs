// Class-conditional diffusion on MNIST with a CPU budget, scored with the metrics package's shipped
// MNIST network (FID on its 128-d features, class accuracy of its classifier on CFG samples).
//
// Usage: node packages/diffusion/bench/mnist-ddpm.mjs [options]
//   --model unet|mlp       denoiser (default unet: base 32, mults 1,2,2; mlp: 784 → 512 × 3 blocks, a
//                          pipeline smoke test only: a hidden width below 784 bottlenecks the identity path)
//   --base 32 --mults 1,2,2 --hidden 512 --blocks 3   model sizes (taken from the checkpoint on --resume)
//   --prediction epsilon   what the model predicts: epsilon | v_prediction | sample (from the checkpoint on --resume)
//   --train-minutes 6      training budget (stops at whichever of --steps / the budget comes first;
//                          0 = evaluate only)
//   --steps 100000 --batch 64 --lr 2e-3 --ema 0.995   (--steps counts all steps, resumed ones included)
//   --ckpt DIR             save a resumable checkpoint (weights, AdamW moments, EMA, step count) to DIR
//                          every --save-minutes (default 5) and at the end; atomic writes
//   --resume DIR           continue from the checkpoint in DIR (and keep saving there); with
//                          --train-minutes 0 it only evaluates
//   --n 500                samples per FID (real digits: as many held-out test digits, with the samples' labels); 0 = no evaluation
//   --sampler ddim --sample-steps 50   sampler of the main evaluation (ddim: η = 0; ddpm: ancestral)
//   --guidance 3           classifier-free guidance scale(s) of those samples: one or a comma list
//                          (a sweep on the same checkpoint and the same starting noise)
//   --clip-sample true     clip x̂₀ to [−1, 1] at every sampler step (diffusers' clip_sample)
//   --clipped-eps true     DDIM: recompute ε̂ from the clipped x̂₀ (diffusers' use_clipped_model_output)
//   --ddpm1000 N           also sample N digits with DDPM (1000 steps) and N with DDIM-50, both at the
//                          first --guidance, and compare their FIDs (costs 20× the DDIM sampling)
//   --backend native       native | wasm | cpu (falls back in that order when unavailable)
//   --time-backends        time a few training steps on every available backend first
//   --out mnist-ddpm-grid.png   10×10 grid of the first guidance's samples (others get -g<w> suffixes)
// Prints JSON. FID at a few hundred samples is biased upwards: the real-vs-real FID at the same
// sample size (class-matched training digits vs the class-matched test digits) is printed as the floor.
// Sampling uses the EMA weights (diffusers' EMAModel warm-up, so short runs are not dominated by the init).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { rngFor, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { mnistFeatureExtractor, mnistFid } from '@nutshell/metrics';
import { AdamW } from '@nutshell/nn';
import { createScheduler, diffusionLoss, EMA, gatherRows, generate, hasCheckpoint, matchingLabelIndices, imageGrid, loadCheckpoint, MLPDenoiser, NoiseSchedule, saveCheckpoint, UNet } from '@nutshell/diffusion';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'unet' },
    prediction: { type: 'string', default: 'epsilon' },
    base: { type: 'string', default: '32' },
    mults: { type: 'string', default: '1,2,2' },
    hidden: { type: 'string', default: '512' },
    blocks: { type: 'string', default: '3' },
    'train-minutes': { type: 'string', default: '6' },
    steps: { type: 'string', default: '100000' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    ema: { type: 'string' },
    ckpt: { type: 'string' },
    resume: { type: 'string' },
    'save-minutes': { type: 'string', default: '5' },
    n: { type: 'string', default: '500' },
    guidance: { type: 'string', default: '3' },
    'clip-sample': { type: 'string', default: 'true' },
    'clipped-eps': { type: 'string', default: 'true' },
    sampler: { type: 'string', default: 'ddim' },
    'sample-steps': { type: 'string', default: '50' },
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

const ckptDir = a.resume ?? a.ckpt;
let saved;
if (a.resume) {
  if (!(await hasCheckpoint(a.resume))) throw new Error(`--resume ${a.resume}: no checkpoint.json there`);
  const { readFile } = await import('node:fs/promises');
  saved = JSON.parse(await readFile(`${a.resume}/checkpoint.json`, 'utf8')).extra;
}
// Hyperparameters default to the checkpoint's (then 64, 2e-3, 0.995); an explicit flag overrides them.
for (const [k, key, fallback] of [['batch', 'batch', 64], ['lr', 'lr', 2e-3], ['ema', 'emaDecay', 0.995]]) a[k] = String(a[k] ?? saved?.[key] ?? fallback);
// The architecture comes from the checkpoint when resuming, so a resumed run cannot silently change it.
const arch = saved?.arch ?? { model: a.model, base: num('base'), mults: a.mults.split(',').map(Number), hidden: num('hidden'), blocks: num('blocks'), seed: num('seed'), prediction: a.prediction };
arch.prediction ??= 'epsilon'; // checkpoints from before the flag
const flat = arch.model === 'mlp';
const mnist = await loadMnist({ range: [-1, 1], flatten: flat });
const imageShape = flat ? [784] : [28, 28, 1];
const trainX = tf.tensor(mnist.train.x, [mnist.train.length, ...imageShape]);
const trainY = tf.tensor1d(Int32Array.from(mnist.train.y), 'int32');
const schedule = new NoiseSchedule({ betaSchedule: 'cosine' });
const makeModel = () => (flat
  ? new MLPDenoiser({ dim: 784, hidden: arch.hidden, blocks: arch.blocks, numClasses: 10, seed: arch.seed })
  : new UNet({ baseChannels: arch.base, channelMults: arch.mults, numClasses: 10, seed: arch.seed }));
const result = { command: `node packages/diffusion/bench/mnist-ddpm.mjs ${process.argv.slice(2).join(' ')}`.trim(), arch, trainDigits: mnist.train.length, schedule: 'cosine, T = 1000', backends: {} };

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

/**
 * Training: AdamW on the denoising loss with 10% label dropout (for CFG), EMA of the weights. Each
 * step's randomness comes from the stream (seed, step), so a resumed run draws what an unbroken one would.
 */
async function train(model, { steps, minutes, batch, dir, resume }) {
  const opt = new AdamW(model, { lr: num('lr'), weightDecay: 0, maxGradNorm: 1 });
  const ema = new EMA(model, { decay: num('ema') });
  let step = 0;
  let losses = [];
  let before = 0; // training seconds of earlier runs
  if (resume) {
    const info = await loadCheckpoint(resume, { model, optimizer: opt, ema });
    step = info.step;
    losses = info.extra.losses ?? [];
    before = info.extra.trainSeconds ?? 0;
    log(`resumed ${resume} at step ${step} (${before} s trained before)`);
  }
  const first = step;
  const N = trainX.shape[0];
  const t0 = performance.now();
  let lastSave = t0;
  const save = async () => {
    if (!dir) return;
    await saveCheckpoint(dir, { model, optimizer: opt, ema }, { step, extra: { arch, losses, trainSeconds: before + seconds(t0), batch, lr: num('lr'), emaDecay: num('ema') } });
    lastSave = performance.now();
    log(`checkpoint at step ${step} → ${dir}`);
  };
  model.train();
  while (step < steps && performance.now() - t0 < minutes * 60_000) {
    const rng = rngFor(`${arch.seed}/step${step}`);
    const idx = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(N)), 'int32');
    const x0 = tf.gather(trainX, idx);
    const y = tf.gather(trainY, idx);
    losses.push(opt.minimize(() => diffusionLoss(model, x0, { schedule, cond: { classLabels: y }, condDropout: 0.1, rng, predictionType: arch.prediction })));
    ema.update();
    tf.dispose([idx, x0, y]);
    step++;
    if (step % 100 === 0) log(`step ${step} loss (last 100) ${(losses.slice(-100).reduce((s, v) => s + v, 0) / 100).toFixed(4)}`);
    if (performance.now() - lastSave > num('save-minutes') * 60_000) await save();
  }
  if (step > first) await save();
  model.eval();
  opt.dispose();
  return { losses, ema, stepsThisRun: step - first, seconds: seconds(t0), totalSeconds: before + seconds(t0) };
}

if (a['time-backends']) {
  for (const b of ['native', 'wasm', 'cpu']) {
    // tfjs' plain-JS cpu backend takes tens of seconds per U-Net step: time it only as a fallback.
    if (b === 'cpu' && Object.values(result.backends).some((v) => v.secondsPerStep)) { result.backends.cpu = { skipped: 'a faster backend is available' }; continue; }
    if (!(await tryBackend(b))) continue;
    const net = makeModel();
    (await train(net, { steps: 1, minutes: 60, batch: num('batch') })).ema.dispose();
    const { seconds: s, ema } = await train(net, { steps: 2, minutes: 60, batch: num('batch') });
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
const run = await train(model, { steps: num('steps'), minutes: num('train-minutes'), batch: num('batch'), dir: ckptDir, resume: a.resume });
result.trainSteps = run.losses.length;
result.trainStepsThisRun = run.stepsThisRun;
result.batch = num('batch');
result.trainSecondsThisRun = run.seconds;
result.trainSecondsTotal = run.totalSeconds;
if (run.stepsThisRun > 0) result.secondsPerStepThisRun = Math.round((run.seconds / run.stepsThisRun) * 1000) / 1000;
const mean = (xs) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);
result.lossFirst20 = mean(run.losses.slice(0, 20));
result.lossLast100 = mean(run.losses.slice(-100));
run.ema.copyTo(model); // sample with the averaged weights
run.ema.dispose();
log(`trained ${result.trainSteps} steps (${run.stepsThisRun} in this run, ${run.seconds} s)`);

const n = num('n');
if (n > 0 || num('ddpm1000') > 0) {
  const extractor = await mnistFeatureExtractor({ range: [-1, 1] });
  // Real reference digits with the samples' labels (0…9 in turn): loadMnist() is sorted by class, so
  // "the first n test digits" would be all zeros. The floor compares such a set of training digits.
  const labelsFor = (count) => Array.from({ length: count }, (_, i) => i % 10);
  const realSet = (split, count, seed) => gatherRows(mnist[split].x, matchingLabelIndices(mnist[split].y, labelsFor(count), { seed }), 784);
  const realTest = n > 0 ? realSet('test', n, 'fid-test') : undefined;
  if (n > 0) result.fidRealVsReal = (await mnistFid(realSet('train', n, 'fid-train'), realTest, { extractor })).value;
  const clipSample = a['clip-sample'] !== 'false';
  const useClippedModelOutput = a['clipped-eps'] !== 'false';
  result.sampler = { clipSample, useClippedModelOutput };

  /** count class-conditional samples (labels 0…9 in turn) with a scheduler; returns samples and timing. */
  const sample = (scheduler, steps, count, guidance, seed) => {
    const labels = labelsFor(count);
    const t0 = performance.now();
    const chunks = [];
    for (let start = 0; start < count; start += 250) {
      const m = Math.min(250, count - start);
      const { samples } = generate({ model, scheduler: createScheduler(scheduler, { schedule, predictionType: arch.prediction, clipSample, useClippedModelOutput }), shape: [m, ...imageShape], steps, classLabels: labels.slice(start, start + m), guidanceScale: guidance, rng: seed + start, onStep: ({ index, total }) => { if (total >= 500 && index % 200 === 199) log(`${scheduler}-${steps}: ${start + m} / ${count} samples, step ${index + 1}`); } });
      chunks.push(samples);
    }
    const all = tf.concat(chunks);
    tf.dispose(chunks);
    // Never let out-of-range values reach the classifier or the PNG: clamp (no wrap-around).
    const clipped = tf.tidy(() => tf.reshape(tf.clipByValue(all, -1, 1), [count, 28, 28, 1]));
    all.dispose();
    return { samples: clipped, labels, seconds: seconds(t0) };
  };
  const score = async (s, real) => {
    const pred = extractor.predict(s.samples);
    const acc = pred.reduce((k, p, i) => k + (p === s.labels[i] ? 1 : 0), 0) / pred.length;
    return { fid: (await mnistFid(real, s.samples, { extractor })).value, classAccuracy: acc, sampleSeconds: s.seconds, count: s.labels.length };
  };

  const scales = a.guidance.split(',').map(Number);
  const key = `${a.sampler}${a['sample-steps']}`;
  if (n > 0) result[key] = [];
  for (const [k, guidance] of n > 0 ? scales.entries() : []) {
    const got = sample(a.sampler, num('sample-steps'), n, guidance, 1);
    const r = { guidance, ...(await score(got, realTest)) };
    const out = k === 0 ? a.out : a.out.replace(/(\.png)?$/, `-g${guidance}.png`);
    writeFileSync(out, imageGrid(tf.slice(got.samples, 0, Math.min(100, n)), { cols: 10 }));
    r.grid = out;
    result[key].push(r);
    log(`${key}: ${JSON.stringify(r)}`);
    got.samples.dispose();
  }

  const m = num('ddpm1000');
  if (m > 0) {
    const guidance = scales[0];
    const realM = realSet('test', m, 'fid-test');
    const ddimM = sample('ddim', 50, m, guidance, 2);
    const ddim50 = await score(ddimM, realM);
    log(`DDIM-50 (n = ${m}): ${JSON.stringify(ddim50)}`);
    const ddpm = sample('ddpm', 1000, m, guidance, 2);
    writeFileSync(a.out.replace(/(\.png)?$/, '-ddpm1000.png'), imageGrid(tf.slice(ddpm.samples, 0, Math.min(100, m)), { cols: 10 }));
    result.ddpmVsDdim = { count: m, guidance, ddpm1000: await score(ddpm, realM), ddim50, fidRealVsReal: (await mnistFid(realSet('train', m, 'fid-train'), realM, { extractor })).value };
    const r = result.ddpmVsDdim;
    r.ddimOverDdpmFid = r.ddim50.fid / r.ddpm1000.fid;
    tf.dispose([ddpm.samples, ddimM.samples]);
  }
  extractor.dispose();
}
result.totalSeconds = seconds(started);
console.log(JSON.stringify(result, null, 1));
