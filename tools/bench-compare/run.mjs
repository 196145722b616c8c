// nutshell vs PyTorch CPU, side by side in one invocation (`pnpm bench:compare`). For each round,
// each task runs on every nutshell backend and then in PyTorch, alternating, so machine load hits
// both alike. Prints one JSON object, then a table with ratios nutshell / PyTorch (medians over rounds).
//
//   node tools/bench-compare/run.mjs [--rounds 2] [--backends native,wasm] [--tasks gpt-train,gpt-generate,mnist-train,ddpm-train]
//        [--mnist-backends native] [--ddpm-backends native] [--train-steps 5] [--mnist-steps 5] [--ddpm-steps 3] [--ddpm-batch 32] [--new-tokens 256]
//        [--threads 2] [--no-torch] [--json FILE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackendPlugins, registerBackendPlugin, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { AdamW, DataLoader, SmallCNN, Trainer, crossEntropy } from '@nutshell/nn';
import { NoiseSchedule, UNet, diffusionLoss } from '@nutshell/diffusion';
import { CharTokenizer, GPT, NANOGPT_CPU_RECIPE, generate, trainGpt } from '@nutshell/transformer';
import { corpusText } from './corpus.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const rounds = Number(arg('rounds', 2));
const backends = arg('backends', 'native,wasm').split(',');
const tasks = arg('tasks', 'gpt-train,gpt-generate,mnist-train,ddpm-train').split(',');
const trainSteps = Number(arg('train-steps', 5));
const mnistSteps = Number(arg('mnist-steps', 5));
const ddpmSteps = Number(arg('ddpm-steps', 3));
const ddpmBatch = Number(arg('ddpm-batch', 32));
const newTokens = Number(arg('new-tokens', 256));
// wasm trains SmallCNN at ~1.4 images/s here (its pooling gradient), minutes per sample: opt in.
const mnistBackends = arg('mnist-backends', 'native').split(',');
// wasm takes minutes per U-Net step here (over 4 min for 3 steps at load 11): opt in.
const ddpmBackends = arg('ddpm-backends', 'native').split(',');
const threads = Number(arg('threads', 2));
const PYTHON = '/usr/bin/python3';
const torchScript = fileURLToPath(new URL('./torch_bench.py', import.meta.url));
const UNITS = { 'gpt-train': 'tokens/s', 'gpt-generate': 'tokens/s', 'mnist-train': 'images/s', 'ddpm-train': 'images/s' };
const log = (m) => console.error(`[bench-compare] ${m}`);

// ---- shared data (written once, read by both sides) ----
const work = mkdtempSync(join(tmpdir(), 'nutshell-bench-compare-'));
const text = await corpusText();
const tokenizer = CharTokenizer.fromText(text);
const tokens = Int32Array.from(tokenizer.encode(text));
writeFileSync(join(work, 'tokens.i32'), Buffer.from(tokens.buffer));
const mnist = tasks.includes('mnist-train') || tasks.includes('ddpm-train') ? await loadMnist({ seed: 0 }) : null;
if (mnist) {
  writeFileSync(join(work, 'images.f32'), Buffer.from(Float32Array.from(mnist.all.x).buffer));
  writeFileSync(join(work, 'labels.u8'), Buffer.from(Uint8Array.from(mnist.all.y).buffer));
}

// ---- torch availability ----
let torchMissing = argv.includes('--no-torch') ? 'skipped (--no-torch)' : null;
if (!torchMissing) {
  const p = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (p.status !== 0) torchMissing = `PyTorch not found for ${PYTHON} (${(p.stderr || p.error?.message || '').trim().split('\n').at(-1)}); install it with apt-get install python3-torch. PyTorch columns skipped.`;
}
if (torchMissing) log(torchMissing);

// ---- backends ----
async function selectBackend(name) {
  if (name === 'wasm') await import('@nutshell/backend-wasm');
  if (name === 'native') {
    const mod = await import('@nutshell/backend-native');
    if (!getBackendPlugins().some((p) => p.name === 'native')) registerBackendPlugin(mod.default);
  }
  const plugin = getBackendPlugins().find((p) => p.name === name);
  if (!plugin) return `no ${name} backend plugin`;
  const a = await plugin.isAvailable();
  if (!a.available) return a.reason;
  await useBackend(name);
  return null;
}

// ---- nutshell tasks ----
async function nutshellGptTrain() {
  const stamps = [];
  const r = await trainGpt({
    text, tokenizer, steps: trainSteps + 1, evalEvery: 1e9, evalBatches: 1, progress: false,
    callbacks: [{ onStepEnd: () => void stamps.push(performance.now()) }],
  });
  r.model.dispose();
  const { batchSize, nPositions } = NANOGPT_CPU_RECIPE;
  const span = (stamps.at(-1) - stamps[0]) / 1000; // the first step (warm-up) is left out
  return { value: ((stamps.length - 1) * batchSize * nPositions) / span, msPerStep: (1000 * span) / (stamps.length - 1) };
}

async function nutshellGptGenerate() {
  const R = NANOGPT_CPU_RECIPE;
  const model = new GPT({ nLayer: R.nLayer, nHead: R.nHead, nEmbd: R.nEmbd, nPositions: 512, dropout: 0, bias: false, vocabSize: tokenizer.vocabSize }, { seed: 1337 });
  model.eval();
  const prompt = [1, 2, 3, 4, 5, 6];
  await generate(model, prompt, { maxNewTokens: 8, useCache: true, greedy: true });
  const t0 = performance.now();
  const r = await generate(model, prompt, { maxNewTokens: newTokens, useCache: true, greedy: true });
  const dt = (performance.now() - t0) / 1000;
  model.dispose();
  return { value: r.ids.length / dt, tokens: r.ids.length };
}

async function nutshellMnistTrain() {
  const B = 64;
  const model = new SmallCNN({ seed: 0 });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const n = mnist.all.length;
  const x = mnist.all.x;
  const y = mnist.all.y;
  const collate = (idx) => {
    const xb = new Float32Array(idx.length * 784);
    const yb = new Int32Array(idx.length);
    idx.forEach((i, j) => {
      xb.set(x.subarray(i * 784, (i + 1) * 784), j * 784);
      yb[j] = y[i];
    });
    return [tf.tensor4d(xb, [idx.length, 28, 28, 1]), tf.tensor1d(yb, 'int32')];
  };
  const loader = new DataLoader({ length: n, get: (i) => i }, { batchSize: B, shuffle: true, seed: 0, dropLast: true, collate });
  const stamps = [];
  const trainer = new Trainer({
    model, optimizer, loss: (m, [xb, yb]) => crossEntropy(m.forward(xb), yb),
    callbacks: [{ onStepEnd: () => void stamps.push(performance.now()) }],
  });
  await trainer.fit(loader, { maxSteps: mnistSteps + 1 });
  optimizer.dispose();
  model.dispose();
  const span = (stamps.at(-1) - stamps[0]) / 1000;
  return { value: ((stamps.length - 1) * B) / span, msPerStep: (1000 * span) / (stamps.length - 1) };
}

// The U-Net of packages/diffusion/bench/mnist-ddpm.mjs (base 32, mults 1,2,2, attention at 7×7,
// class-conditional), one DDPM training step = ε-prediction MSE at random t (cosine schedule, 10 %
// label dropout), AdamW (lr 2e-3, no weight decay), grad-norm clip 1. Images scaled to [−1, 1].
async function nutshellDdpmTrain() {
  const B = ddpmBatch;
  const model = new UNet({ baseChannels: 32, channelMults: [1, 2, 2], numClasses: 10, seed: 0 });
  const optimizer = new AdamW(model, { lr: 2e-3, weightDecay: 0, maxGradNorm: 1 });
  const schedule = new NoiseSchedule({ betaSchedule: 'cosine' });
  const n = mnist.all.length;
  let seed = 1;
  const stamps = [];
  model.train();
  for (let s = 0; s <= ddpmSteps; s++) {
    const xb = new Float32Array(B * 784);
    const yb = new Int32Array(B);
    for (let j = 0; j < B; j++) {
      const i = (s * B + j * 7919) % n;
      const src = mnist.all.x.subarray(i * 784, (i + 1) * 784);
      for (let k = 0; k < 784; k++) xb[j * 784 + k] = 2 * src[k] - 1;
      yb[j] = mnist.all.y[i];
    }
    const x0 = tf.tensor4d(xb, [B, 28, 28, 1]);
    const y = tf.tensor1d(yb, 'int32');
    optimizer.minimize(() => diffusionLoss(model, x0, { schedule, cond: { classLabels: y }, condDropout: 0.1, rng: seed++ }));
    tf.dispose([x0, y]);
    stamps.push(performance.now());
  }
  optimizer.dispose();
  model.dispose();
  const span = (stamps.at(-1) - stamps[0]) / 1000; // the first step (warm-up) is left out
  return { value: ((stamps.length - 1) * B) / span, msPerStep: (1000 * span) / (stamps.length - 1) };
}

const NUTSHELL = { 'gpt-train': nutshellGptTrain, 'gpt-generate': nutshellGptGenerate, 'mnist-train': nutshellMnistTrain, 'ddpm-train': nutshellDdpmTrain };

function torchTask(task) {
  const extra = {
    'gpt-train': [`steps=${trainSteps}`, `data=${join(work, 'tokens.i32')}`, `vocab=${tokenizer.vocabSize}`],
    'gpt-generate': [`new=${newTokens}`, `vocab=${tokenizer.vocabSize}`],
    'mnist-train': [`steps=${mnistSteps}`, `images=${join(work, 'images.f32')}`, `labels=${join(work, 'labels.u8')}`],
    'ddpm-train': [`steps=${ddpmSteps}`, `batch=${ddpmBatch}`, `images=${join(work, 'images.f32')}`, `labels=${join(work, 'labels.u8')}`],
  }[task];
  const p = spawnSync(PYTHON, [torchScript, `task=${task}`, `threads=${threads}`, ...extra], { encoding: 'utf8' });
  if (p.status !== 0) return { error: (p.stderr || p.error?.message || '').trim().split('\n').slice(-3).join(' ') };
  const r = JSON.parse(p.stdout.trim().split('\n').at(-1));
  return { value: r.tokens_per_second ?? r.images_per_second, msPerStep: r.ms_per_step, torch: r.torch };
}

// ---- the alternating loop ----
const samples = {}; // task → impl → [values]
const unavailable = {};
const loads = [loadavg()[0]];
for (let round = 0; round < rounds; round++) {
  for (const task of tasks) {
    for (const impl of [...backends, 'torch']) {
      if (unavailable[impl]) continue;
      if (task === 'mnist-train' && impl !== 'torch' && !mnistBackends.includes(impl)) continue;
      if (task === 'ddpm-train' && impl !== 'torch' && !ddpmBackends.includes(impl)) continue;
      let r;
      if (impl === 'torch') {
        if (torchMissing) continue;
        r = torchTask(task);
      } else {
        const why = await selectBackend(impl);
        if (why) {
          unavailable[impl] = why;
          log(`${impl} unavailable: ${why}`);
          continue;
        }
        try {
          r = await NUTSHELL[task]();
        } catch (e) {
          r = { error: e.message };
        }
      }
      if (r.error) log(`${task} on ${impl} failed: ${r.error}`);
      else log(`round ${round + 1} ${task} ${impl}: ${r.value.toFixed(1)} ${UNITS[task]} (load ${loadavg()[0].toFixed(1)})`);
      ((samples[task] ??= {})[impl] ??= []).push(r.error ? NaN : r.value);
      loads.push(loadavg()[0]);
    }
  }
}
rmSync(work, { recursive: true, force: true });

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const table = [];
for (const task of tasks) {
  const t = samples[task] ?? {};
  const torchV = median(t.torch ?? []);
  for (const b of backends) {
    const v = median(t[b] ?? []);
    table.push({ task, unit: UNITS[task], backend: b, nutshell: v, torch: torchV, ratio: v / torchV, samples: t[b] ?? [], torchSamples: t.torch ?? [] });
  }
}
const result = {
  rounds, threads, backends, tasks, trainSteps, mnistSteps, ddpmSteps, ddpmBatch, newTokens,
  loadAverage: { min: Math.min(...loads), max: Math.max(...loads), mean: loads.reduce((a, b) => a + b, 0) / loads.length },
  torch: torchMissing ? { skipped: torchMissing } : { python: PYTHON, threads },
  unavailable, results: table,
};
const jsonOut = arg('json', undefined);
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
const f = (v) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : 'n/a');
console.log(`\n| task | backend | nutshell | PyTorch ${threads} threads | nutshell / PyTorch |\n|---|---|---|---|---|`);
for (const r of table) console.log(`| ${r.task} (${r.unit}) | ${r.backend} | ${f(r.nutshell)} | ${f(r.torch)} | ${Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : 'n/a'} |`);
console.log(`\nload average during the run: ${result.loadAverage.min.toFixed(1)}–${result.loadAverage.max.toFixed(1)} (${result.loadAverage.mean.toFixed(1)} mean); medians over ${rounds} round(s)`);
if (torchMissing) console.log(`PyTorch: ${torchMissing}`);
