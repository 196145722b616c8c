// Profiles one backend by wrapping its registered kernel functions and timing every call.
//   --task train:    GPT training steps (nanoGPT CPU config); counts and times per step
//   --task generate: GPT decoding with the KV cache (batch 1, context 512, greedy); per new token
//   --task mnist:    nn's SmallCNN training steps (batch 64, AdamW) on MNIST; per step
//   --task ddpm:     diffusion's UNet training steps (base 32, mults 1,2,2, batch --batch 32, AdamW); per step
// Prints JSON, then a table sorted by time.
//
//   node tools/bench-compare/profile.mjs [--task train|generate|mnist|ddpm] [--backend native] [--steps 6] [--batch 32] [--new-tokens 128] [--top 30]
import { getKernelsForBackend, getBackendPlugins, registerBackendPlugin, tf, useBackend } from '@nutshell/core';
import { CharTokenizer, GPT, NANOGPT_CPU_RECIPE, generate, trainGpt } from '@nutshell/transformer';
import { corpusText } from './corpus.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const task = arg('task', 'train');
const backend = arg('backend', 'native');
const steps = Number(arg('steps', 6));
const newTokens = Number(arg('new-tokens', 128));
const top = Number(arg('top', 30));

if (backend === 'wasm') await import('@nutshell/backend-wasm');
if (backend === 'native') {
  const mod = await import('@nutshell/backend-native');
  if (!getBackendPlugins().some((p) => p.name === 'native')) registerBackendPlugin(mod.default);
}
await useBackend(backend);

const stats = new Map(); // kernel → { calls, ms }
let recording = false;
for (const config of getKernelsForBackend(backend)) {
  const inner = config.kernelFunc;
  // The registry hands this same config object to the engine on every call.
  config.kernelFunc = (args) => {
    if (!recording) return inner(args);
    const t0 = performance.now();
    const out = inner(args);
    const dt = performance.now() - t0;
    const s = stats.get(config.kernelName) ?? { calls: 0, ms: 0 };
    s.calls++;
    s.ms += dt;
    stats.set(config.kernelName, s);
    return out;
  };
}

/** Batch s of B digits (cycling through the set) as [x [B, 28, 28, 1], labels [B]]. */
function mnistBatch(mnist, s, B) {
  const xb = new Float32Array(B * 784);
  const yb = new Int32Array(B);
  for (let j = 0; j < B; j++) {
    const i = (s * B + j) % mnist.all.length;
    xb.set(mnist.all.x.subarray(i * 784, (i + 1) * 784), j * 784);
    yb[j] = mnist.all.y[i];
  }
  return [tf.tensor4d(xb, [B, 28, 28, 1]), tf.tensor1d(yb, 'int32')];
}

/** One warm-up step, then `steps` recorded ones; returns ms per step. */
function timeSteps(step) {
  step(0);
  recording = true;
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) step(s);
  return (performance.now() - t0) / steps;
}

const text = await corpusText();
let units; // steps or tokens the stats are divided by
let unitMs;
if (task === 'generate') {
  const R = NANOGPT_CPU_RECIPE;
  const vocabSize = CharTokenizer.fromText(text).vocabSize;
  const model = new GPT({ nLayer: R.nLayer, nHead: R.nHead, nEmbd: R.nEmbd, nPositions: 512, dropout: 0, bias: false, vocabSize }, { seed: 1337 });
  const prompt = [1, 2, 3, 4, 5, 6];
  await generate(model, prompt, { maxNewTokens: 8, greedy: true });
  // Prompt (prefill) tokens are counted too; with 6 of them against ≥ 128 new ones they barely show.
  recording = true;
  const t0 = performance.now();
  const r = await generate(model, prompt, { maxNewTokens: newTokens, greedy: true });
  unitMs = (performance.now() - t0) / r.ids.length;
  units = r.ids.length;
  model.dispose();
} else if (task === 'mnist') {
  const { loadMnist } = await import('@nutshell/datasets');
  const { AdamW, SmallCNN, crossEntropy } = await import('@nutshell/nn');
  const mnist = await loadMnist({ seed: 0 });
  const B = 64;
  const model = new SmallCNN({ seed: 0 });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const step = (s) => {
    const [xb, yb] = mnistBatch(mnist, s, B);
    optimizer.minimize(() => crossEntropy(model.forward(xb), yb)); // returns the loss as a number
    tf.dispose([xb, yb]);
  };
  unitMs = timeSteps(step);
  units = steps;
  optimizer.dispose();
  model.dispose();
} else if (task === 'ddpm') {
  const { loadMnist } = await import('@nutshell/datasets');
  const { AdamW } = await import('@nutshell/nn');
  const { NoiseSchedule, UNet, diffusionLoss } = await import('@nutshell/diffusion');
  const mnist = await loadMnist({ seed: 0, range: [-1, 1] });
  const B = Number(arg('batch', 32));
  const model = new UNet({ baseChannels: 32, channelMults: [1, 2, 2], numClasses: 10, seed: 0 });
  const optimizer = new AdamW(model, { lr: 2e-3, weightDecay: 0, maxGradNorm: 1 });
  const schedule = new NoiseSchedule({ betaSchedule: 'cosine' });
  model.train();
  const step = (s) => {
    const [x0, y] = mnistBatch(mnist, s, B);
    optimizer.minimize(() => diffusionLoss(model, x0, { schedule, cond: { classLabels: y }, condDropout: 0.1, rng: s }));
    tf.dispose([x0, y]);
  };
  unitMs = timeSteps(step);
  units = steps;
  optimizer.dispose();
  model.dispose();
} else {
  const stamps = [];
  const r = await trainGpt({
    text, steps: steps + 1, evalEvery: 1e9, evalBatches: 1, progress: false,
    callbacks: [{ onStepEnd: () => { stamps.push(performance.now()); recording = true; } }],
  });
  r.model.dispose();
  units = steps;
  unitMs = (stamps.at(-1) - stamps[0]) / steps;
}
const per = task === 'generate' ? 'token' : 'step';
const rows = [...stats.entries()].map(([k, s]) => ({ kernel: k, calls: s.calls / units, ms: s.ms / units }));
rows.sort((a, b) => b.ms - a.ms);
const kernelMs = rows.reduce((a, r) => a + r.ms, 0);
const calls = rows.reduce((a, r) => a + r.calls, 0);
const out = { task, backend, per, units, ms: unitMs, kernelMs, kernelCalls: calls, outsideKernelsMs: unitMs - kernelMs, kernels: rows };
console.log(JSON.stringify(out));
console.log(`\n${backend} ${task}: ${unitMs.toFixed(2)} ms/${per}, ${calls.toFixed(0)} kernel calls/${per}, ${kernelMs.toFixed(2)} ms in kernels, ${(unitMs - kernelMs).toFixed(2)} ms outside (dispatch, tape, JS)`);
console.log(`\n| kernel | calls/${per} | ms/${per} | % |\n|---|---|---|---|`);
for (const r of rows.slice(0, top)) console.log(`| ${r.kernel} | ${r.calls.toFixed(1)} | ${r.ms.toFixed(3)} | ${((100 * r.ms) / unitMs).toFixed(1)} |`);
