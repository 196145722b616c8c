// U-Net DDPM on MNIST with a CPU-sized budget. Usage: node packages/diffusion/bench/mnist-ddpm.mjs [trainSteps]
// Prints JSON: time per training step per backend, FID/KID of samples vs real digits on the
// penultimate features of a small CNN classifier trained here (label: "smallcnn-features", not Inception),
// the classifier's accuracy on class-conditional samples, and writes mnist-ddpm-grid.png.
import { writeFileSync } from 'node:fs';
import { tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { fid, kid } from '@nutshell/metrics';
import { AdamW, crossEntropy, SmallCNN } from '@nutshell/nn';
import { createScheduler, generate, imageGrid, NoiseSchedule, trainDenoiser, UNet } from '@nutshell/diffusion';

const trainSteps = Number(process.argv[2] ?? 300);
const mnist = await loadMnist({ range: [-1, 1] });
const N = 4000;
const x = tf.tensor4d(mnist.train.x.subarray(0, N * 784), [N, 28, 28, 1]);
const y = tf.tensor1d(Int32Array.from(mnist.train.y.subarray(0, N)), 'int32');
const schedule = new NoiseSchedule({ betaSchedule: 'cosine' });
const result = { trainSteps, backends: {} };

// Time per training step on each available backend.
for (const b of ['wasm', 'native', 'cpu']) {
  // tfjs' plain-JS cpu backend needs tens of seconds per U-Net step: time it only as a fallback.
  if (b === 'cpu' && Object.values(result.backends).some((v) => v.secondsPerStep)) { result.backends.cpu = { skipped: 'a faster backend is available' }; continue; }
  try { await import(`@nutshell/backend-${b}`).catch(() => {}); await useBackend(b); } catch (e) { result.backends[b] = { error: String(e.message ?? e) }; continue; }
  const net = new UNet({ baseChannels: 32, channelMults: [1, 2, 2], numClasses: 10, seed: 0 });
  trainDenoiser({ model: net, data: x, labels: y, schedule, steps: 1, batchSize: 32 });
  const t0 = performance.now();
  trainDenoiser({ model: net, data: x, labels: y, schedule, steps: 3, batchSize: 32 });
  result.backends[b] = { secondsPerStep: (performance.now() - t0) / 3000, batch: 32 };
}
const fastest = Object.entries(result.backends).filter(([, v]) => v.secondsPerStep).sort((a, b) => a[1].secondsPerStep - b[1].secondsPerStep)[0]?.[0] ?? 'cpu';
await useBackend(fastest);
result.backend = fastest;

const model = new UNet({ baseChannels: 32, channelMults: [1, 2, 2], numClasses: 10, seed: 0 });
const t0 = performance.now();
const { losses, ema } = trainDenoiser({ model, data: x, labels: y, schedule, steps: trainSteps, batchSize: 32, lr: 2e-3, emaDecay: 0.995, onStep: ({ step, loss }) => { if (step % 50 === 0) console.error(`step ${step} loss ${loss.toFixed(4)}`); } });
result.trainSeconds = (performance.now() - t0) / 1000;
result.finalLoss = losses.slice(-20).reduce((a, b) => a + b) / 20;
ema.copyTo(model);

// Feature network: SmallCNN classifier trained on the same digits.
const clf = new SmallCNN({ inChannels: 1, numClasses: 10, seed: 0 });
const opt = new AdamW(clf, { lr: 2e-3, weightDecay: 0 });
for (let s = 0; s < 300; s++) {
  const idx = tf.tensor1d(Int32Array.from({ length: 64 }, (_, i) => (s * 64 + i) % N), 'int32');
  opt.minimize(() => tf.tidy(() => crossEntropy(clf.forward(tf.gather(x, idx)), tf.gather(y, idx))));
  idx.dispose();
}
const n = 100;
const labels = Array.from({ length: n }, (_, i) => i % 10);
const t1 = performance.now();
const { samples } = generate({ model, scheduler: createScheduler('ddim', { schedule }), shape: [n, 28, 28, 1], steps: 50, classLabels: labels, guidanceScale: 3, rng: 0 });
result.sampleSeconds = (performance.now() - t1) / 1000;
writeFileSync('mnist-ddpm-grid.png', imageGrid(samples, { cols: 10 }));
const logits = clf.forward(samples);
const pred = Array.from(tf.argMax(logits, 1).dataSync());
result.cfgClassAccuracy = pred.filter((p, i) => p === labels[i]).length / n;
const feats = (t) => (clf.features ? clf.features(t) : logits);
const real = tf.slice(x, [0, 0, 0, 0], [n, 28, 28, 1]);
result.features = clf.features ? 'smallcnn-features' : 'smallcnn-logits';
result.fid = fid(feats(samples), feats(real)).value;
result.kid = kid(feats(samples), feats(real), { subsets: 10, subsetSize: 50 }).value;
console.log(JSON.stringify(result, null, 1));
