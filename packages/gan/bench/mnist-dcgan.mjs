// DCGAN on MNIST for a CPU-sized budget. Trains on the digits of @nutshell/datasets (80% split),
// writes fixed-noise sample grids, and reports per backend: seconds per generator step, final
// losses, and FID / KID of generated vs held-out digits. Features: the 128-d penultimate layer of
// an MLP digit classifier trained here first (NOT Inception; numbers compare only within this
// bench). Also reports the FID of real train vs held-out digits (the floor) and the class spread
// of the samples under that classifier.
//   node packages/gan/bench/mnist-dcgan.mjs [--steps 300] [--backends native,wasm,cpu] [--width 32] [--out /tmp/gan-bench]
import { Rng, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { fid, kid } from '@nutshell/metrics';
import { Adam, DataLoader, MLP, accuracy, crossEntropy } from '@nutshell/nn';
import { DCGANDiscriminator, DCGANGenerator, GanTrainer, generateMatrix } from '@nutshell/gan';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const steps = Number(args.steps ?? 300);
const backends = (args.backends ?? 'native,wasm').split(',');
const width = Number(args.width ?? 32);
const outDir = args.out ?? '/tmp/gan-bench';
const nEval = Number(args.eval ?? 1000);

async function backendPlugin(name) {
  if (name === 'cpu') return 'cpu';
  try { return (await import(`@nutshell/backend-${name}`)).default; } catch { return null; }
}

const mnist = await loadMnist({ range: [-1, 1], seed: 0 });
const toTensor = (ds) => tf.tensor(ds.x, [ds.length, 28, 28, 1]);

// Penultimate features of the classifier MLP: every layer but the last Linear.
function features(cnn, x) {
  return tf.tidy(() => {
    let h = tf.reshape(x, [x.shape[0], 784]);
    for (let i = 0; i < cnn.length - 1; i++) h = cnn.at(i).forward(h);
    return h;
  });
}
function featureMatrix(cnn, x) {
  const parts = [];
  for (let i = 0; i < x.shape[0]; i += 250) {
    const f = features(cnn, tf.slice(x, [i], [Math.min(250, x.shape[0] - i)]));
    parts.push(f.dataSync().slice());
    f.dispose();
  }
  const cols = parts[0].length / Math.min(250, x.shape[0]);
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  return { rows: x.shape[0], cols, data };
}

let classifierState; // trained once, reloaded on every backend
const results = [];
for (const backend of backends) {
  const plugin = await backendPlugin(backend);
  if (!plugin) { results.push({ backend, skipped: 'package not installed' }); continue; }
  try { await useBackend(plugin); } catch (e) { results.push({ backend, skipped: e.message }); continue; }
  const xTrain = toTensor(mnist.train);
  const xTest = toTensor(mnist.test);
  const cnn = new MLP({ sizes: [784, 256, 128, 10], seed: 0 });
  const flat = (x) => tf.reshape(x, [x.shape[0], 784]);
  let classifierAccuracy;
  if (!classifierState) {
    const yTrain = tf.tensor(mnist.train.y, [mnist.train.length], 'int32');
    const opt = new Adam(cnn, { lr: 2e-3 });
    for (let epoch = 0; epoch < 2; epoch++) {
      for (const [x, y] of new DataLoader([xTrain, yTrain], { batchSize: 64, shuffle: true, seed: epoch }).batches(epoch)) {
        opt.minimize(() => crossEntropy(cnn.forward(flat(x)), y));
        x.dispose(); y.dispose();
      }
    }
    yTrain.dispose();
    console.error(`[${backend}] classifier trained`);
    classifierState = Object.fromEntries(Object.entries(cnn.stateDict()).map(([k, v]) => [k, { data: v.dataSync().slice(), shape: v.shape, dtype: v.dtype }]));
  } else {
    const sd = Object.fromEntries(Object.entries(classifierState).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.dtype)]));
    cnn.loadStateDict(sd);
    Object.values(sd).forEach((t) => t.dispose());
  }
  cnn.eval();
  const yTest = tf.tensor(mnist.test.y, [mnist.test.length], 'int32');
  classifierAccuracy = tf.tidy(() => accuracy(cnn.forward(flat(xTest)), yTest));
  yTest.dispose();

  const G = new DCGANGenerator({ latentDim: 64, width, seed: 1 });
  const D = new DCGANDiscriminator({ width, seed: 2 });
  const trainer = new GanTrainer({
    generator: G, discriminator: D, latentDim: 64, loss: 'non-saturating', seed: 0,
    optimizerG: new Adam(G, { lr: 2e-4, betas: [0.5, 0.999] }), optimizerD: new Adam(D, { lr: 2e-4, betas: [0.5, 0.999] }),
    ema: { decay: 0.99, start: 50 },
    samples: { every: Math.max(1, Math.floor(steps / 3)), dir: `${outDir}/${backend}` },
    log: { every: 50, mode: 'json' },
  });
  const t0 = Date.now();
  await trainer.fit(new DataLoader(xTrain, { batchSize: 64, shuffle: true, seed: 1 }), { steps });
  const seconds = (Date.now() - t0) / 1000;

  const evalReal = tf.slice(xTest, [0], [Math.min(nEval, xTest.shape[0])]);
  const realF = featureMatrix(cnn, evalReal);
  const trainF = featureMatrix(cnn, tf.slice(xTrain, [0], [realF.rows]));
  const fake = trainer.ema.withAveraged(() => generateMatrix(G, realF.rows, 64, new Rng('eval'), { batchSize: 250 }));
  const fakeX = tf.tensor(fake.data, [fake.rows, 28, 28, 1]);
  const fakeF = featureMatrix(cnn, fakeX);
  const preds = tf.tidy(() => tf.argMax(cnn.forward(flat(fakeX)), -1)).dataSync();
  const classShare = Array.from({ length: 10 }, (_, c) => preds.filter((p) => p === c).length / preds.length);
  fakeX.dispose();
  const last = trainer.history.slice(-20);
  const avg = (k) => last.reduce((s, h) => s + h[k], 0) / last.length;
  results.push({
    backend, steps, width, batchSize: 64, secondsPerStep: +(seconds / steps).toFixed(3), totalSeconds: +seconds.toFixed(1),
    dLossLast20: +avg('dLoss').toFixed(4), gLossLast20: +avg('gLoss').toFixed(4),
    features: 'MLP 784-256-128-10 classifier, penultimate ReLU layer (128-d), trained 2 epochs in this bench', classifierAccuracy: +classifierAccuracy.toFixed(4),
    fid: +fid(fakeF, realF).value.toFixed(2), kid: +kid(fakeF, realF, { subsets: 20, subsetSize: 500, seed: 0 }).value.toFixed(4),
    fidRealTrainVsTest: +fid(trainF, realF).value.toFixed(2),
    samplesPerClass: classShare.map((v) => +v.toFixed(3)), grids: trainer.grids,
  });
  trainer.dispose();
  [xTrain, xTest, evalReal].forEach((t) => t.dispose());
  G.dispose(); D.dispose(); cnn.dispose();
}
console.log(JSON.stringify(results, null, 2));
console.log('\n| backend | steps | s/step | D loss | G loss | FID | KID | FID real/real |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  if (r.skipped) console.log(`| ${r.backend} | skipped: ${r.skipped} |`);
  else console.log(`| ${r.backend} | ${r.steps} | ${r.secondsPerStep} | ${r.dLossLast20} | ${r.gLossLast20} | ${r.fid} | ${r.kid} | ${r.fidRealTrainVsTest} |`);
}
