// Per-step cost of DP-SGD on a small MNIST CNN (SmallCNN, 14×14 digits, channels [8, 16], hidden 32):
// ghost/fast clipping vs materialised vectorized per-example gradients vs the per-example loop vs a
// plain SGD step. Same batches; prints the median ms per step of each.
//   node packages/ethics-audit/bench/dp-cnn.mjs [--batch 64] [--steps 5] [--backend cpu|wasm]
import { tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { DataLoader, SGD, SmallCNN, crossEntropy } from '@nutshell/nn';
import { makePrivate } from '@nutshell/ethics-audit';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const B = Number(args.batch ?? 64), steps = Number(args.steps ?? 5), backend = args.backend ?? 'cpu';
if (backend === 'cpu') await useBackend('cpu');
else await useBackend((await import(`@nutshell/backend-${backend}`)).default);

const mnist = await loadMnist({ seed: 0 });
const x = tf.tidy(() => tf.avgPool(tf.tensor4d(mnist.train.x.subarray(0, B * 784), [B, 28, 28, 1]), 2, 2, 'valid'));
const y = tf.tensor1d(Array.from({ length: B }, (_, i) => mnist.train.y[i]), 'int32');
const loss = (m, [a, b]) => crossEntropy(m.forward(a), b, { reduction: 'none' });
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const rows = [];
for (const mode of ['sgd', 'ghost', 'per-sample', 'loop']) {
  const model = new SmallCNN({ imageSize: 14, channels: [8, 16], hidden: 32, seed: 0 });
  const opt = new SGD(model, { lr: 0.1 });
  const dp = mode === 'sgd' ? null : makePrivate(model, opt, new DataLoader([x, y], { batchSize: B }), {
    noiseMultiplier: 1, maxGradNorm: 1, poisson: false, seed: 0,
    clipping: mode === 'loop' ? 'per-sample' : mode, strategy: mode === 'loop' ? 'loop' : 'auto',
  });
  const times = [];
  let method = 'sgd';
  for (let s = 0; s < steps + 1; s++) {
    const t0 = performance.now();
    if (dp) method = dp.step([x, y], loss).method;
    else opt.minimize(() => crossEntropy(model.forward(x), y));
    if (s > 0) times.push(performance.now() - t0); // the first step also checks the trace
  }
  rows.push({ mode, method, msPerStep: Math.round(median(times)) });
}
console.log(JSON.stringify({ backend: tf.getBackend(), batch: B, steps, rows }));
for (const r of rows) console.log(`${r.mode.padEnd(11)} ${r.method.padEnd(11)} ${String(r.msPerStep).padStart(7)} ms/step`);
