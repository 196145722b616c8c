// VAE benchmark for @nutshell/nn: trains the reference VAE (Bernoulli decoder) on the 8,000 MNIST
// training digits of @nutshell/datasets' `loadMnist` (seed 0) and reports, per epoch, the negative
// ELBO split into reconstruction and KL — on the training batches (running mean) and on the 2,000
// held-out digits (one sampled z per digit, fixed seed). Writes a PNG grid of prior samples and a
// latent interpolation between two held-out digits. Not a unit test:
//   node packages/nn/bench/vae.mjs [--backend native] [--epochs 5] [--latent 16] [--out dir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { Adam, DataLoader, VAE, disposeGrads, interpolateLatent, valueAndGrads } from '@nutshell/nn';
import { PNG } from 'pngjs';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const backend = args.backend ?? 'native';
const epochs = Number(args.epochs ?? 5);
const latent = Number(args.latent ?? 16);
const outDir = args.out ?? join(tmpdir(), 'nutshell-nn-vae');

await useBackend(backend === 'cpu' ? 'cpu' : (await import(`@nutshell/backend-${backend}`)).default);
const mnist = await loadMnist({ flatten: true, seed: 0 });
const xTrain = tf.tensor(mnist.train.x, [mnist.train.length, 784]);
const xTest = tf.tensor(mnist.test.x, [mnist.test.length, 784]);
const model = new VAE({ inFeatures: 784, hidden: [400], latent, seed: 0 });
const opt = new Adam(model, { lr: 1e-3 });
const train = new DataLoader(xTrain, { batchSize: 100, shuffle: true, seed: 0 });
const test = new DataLoader(xTest, { batchSize: 500 });

/** Mean negative ELBO, reconstruction and KL (nats per digit) over a loader, without gradients. */
function heldOut() {
  const sums = { loss: 0, recon: 0, kl: 0 };
  let n = 0;
  for (const x of test.batches(0)) {
    const parts = model.elbo(x);
    for (const k of Object.keys(sums)) sums[k] += parts[k].dataSync()[0] * x.shape[0];
    n += x.shape[0];
    tf.dispose([x, parts.loss, parts.recon, parts.kl]);
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, +(v / n).toFixed(3)]));
}

const rows = [];
for (let epoch = 0; epoch < epochs; epoch++) {
  const t0 = performance.now();
  const sums = { loss: 0, recon: 0, kl: 0 };
  let batches = 0;
  for (const x of train.batches(epoch)) {
    let recon = 0;
    let kl = 0;
    const { value, grads } = valueAndGrads(() => {
      const parts = model.elbo(x);
      recon = parts.recon.dataSync()[0];
      kl = parts.kl.dataSync()[0];
      return parts.loss;
    }, model);
    sums.loss += value.dataSync()[0];
    sums.recon += recon;
    sums.kl += kl;
    batches++;
    opt.step(grads);
    disposeGrads(grads);
    tf.dispose([value, x]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const row = { epoch: epoch + 1, train: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, +(v / batches).toFixed(3)])), heldOut: heldOut(), seconds: +seconds.toFixed(2) };
  rows.push(row);
  console.error(JSON.stringify(row));
}

// Images: 8×8 prior samples; 2 rows of 10-step lerp / slerp between two held-out digits.
function writeGrid(file, images, cols) {
  const rowsN = Math.ceil(images.length / cols);
  const png = new PNG({ width: cols * 28, height: rowsN * 28 });
  images.forEach((img, i) => {
    const ox = (i % cols) * 28;
    const oy = Math.floor(i / cols) * 28;
    for (let p = 0; p < 784; p++) {
      const v = Math.round(Math.min(1, Math.max(0, img[p])) * 255);
      const o = ((oy + Math.floor(p / 28)) * png.width + ox + (p % 28)) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  });
  writeFileSync(file, PNG.sync.write(png));
}
const split = (t) => {
  const a = t.dataSync();
  t.dispose();
  return Array.from({ length: a.length / 784 }, (_, i) => a.subarray(i * 784, (i + 1) * 784));
};
model.eval();
mkdirSync(outDir, { recursive: true });
writeGrid(join(outDir, 'vae-samples.png'), split(model.sample(64, 'samples')), 8);
const pair = tf.tidy(() => model.encode(tf.gather(xTest, tf.tensor1d([0, 1999], "int32"))).mu); // a 0 and a 9
const [a, b] = tf.unstack(pair);
const interp = [];
for (const mode of ['lerp', 'slerp']) {
  const z = interpolateLatent(a, b, 10, mode);
  interp.push(...split(tf.tidy(() => tf.sigmoid(model.decode(z)))));
  z.dispose();
}
writeGrid(join(outDir, 'vae-interpolation.png'), interp, 10);
tf.dispose([pair, a, b, xTrain, xTest]);

const improves = (key) => rows.every((r, i) => i === 0 || r[key].loss < rows[i - 1][key].loss);
const out = {
  bench: '@nutshell/nn vae', backend, model: { inFeatures: 784, hidden: [400], latent, params: model.numParameters() },
  optimizer: 'Adam lr 1e-3, batch 100', rows,
  trainElboImprovesEveryEpoch: improves('train'), heldOutElboImprovesEveryEpoch: improves('heldOut'),
  images: [join(outDir, 'vae-samples.png'), join(outDir, 'vae-interpolation.png')],
};
console.log(JSON.stringify(out, null, 2));
console.log('\nepoch  train −ELBO (recon + KL)        held-out −ELBO (recon + KL)     s');
for (const r of rows) {
  const f = (p) => `${p.loss.toFixed(2).padStart(7)} (${p.recon.toFixed(2)} + ${p.kl.toFixed(2)})`;
  console.log(`${String(r.epoch).padEnd(6)} ${f(r.train).padEnd(31)} ${f(r.heldOut).padEnd(31)} ${r.seconds}`);
}
model.dispose();
if (!out.heldOutElboImprovesEveryEpoch) process.exitCode = 1;
