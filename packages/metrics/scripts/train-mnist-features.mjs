// Trains the MNIST feature / classifier network shipped in weights/mnist-features.safetensors
// (MnistFeatureNet: 3 × [conv3×3 → ReLU → maxpool2] with 16/32/64 channels, fc 576→128→10).
//
// Recipe (seeded end to end, so a rerun on the same backend reproduces the weights):
//   data      @nutshell/datasets loadMnist() default split: seed 0, stratified, 8,000 train / 2,000
//             test. Trains on the 8,000 train digits only; the 2,000 test digits are evaluated once,
//             after the last epoch, and the accuracy is written into the file's metadata.
//   inputs    [0, 1] pixels normalized with (x − 0.1307) / 0.3081 (MnistFeatureExtractor does the same).
//   augment   per image, seeded: rotation uniform ±10°, integer shift ±2 px (bilinear, zero fill).
//   optimizer AdamW lr 2e-3, weight decay 1e-4, batch 64, cosine schedule with 1 warm-up epoch,
//             plain cross-entropy (no label smoothing: Inception Score wants honest confidences).
//   init      MnistFeatureNet({ seed: 0 }); batches shuffled with seed 1.
//
//   node packages/metrics/scripts/train-mnist-features.mjs [--epochs 3] [--backend native|wasm|cpu]
//        [--out packages/metrics/weights/mnist-features.safetensors]
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { AdamW, DataLoader, ProgressLogger, Trainer, accuracy, crossEntropy, saveModule, schedules } from '@nutshell/nn';
import { MNIST_MEAN, MNIST_STD, MnistFeatureNet, mnistFeatureExtractor } from '@nutshell/metrics';
import { readFile } from 'node:fs/promises';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const EPOCHS = Number(args.epochs ?? 3);
const BATCH = 64;
const LR = 2e-3;
const WEIGHT_DECAY = 1e-4;
const out = resolve(args.out ?? resolve(here, '../weights/mnist-features.safetensors'));

async function pickBackend(name) {
  if (name === 'cpu') return 'cpu';
  return (await import(`@nutshell/backend-${name}`)).default;
}
await useBackend(await pickBackend(args.backend ?? 'native'));

/** Rotation ±10° and shift ±2 px around the image centre, bilinear, zero outside. */
function augmentInto(dst, src, rng) {
  const angle = ((rng.uniform() * 2 - 1) * 10 * Math.PI) / 180;
  const dx = Math.floor(rng.uniform() * 5) - 2;
  const dy = Math.floor(rng.uniform() * 5) - 2;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const at = (y, x) => (y >= 0 && y < 28 && x >= 0 && x < 28 ? src[y * 28 + x] : 0);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const ox = x - dx - 13.5;
      const oy = y - dy - 13.5;
      const sx = c * ox + s * oy + 13.5;
      const sy = -s * ox + c * oy + 13.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      dst[y * 28 + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
    }
  }
}

function loader(ds, { shuffle, aug }) {
  const rng = new Rng('mnist-features/augment');
  const img = new Float32Array(784);
  return new DataLoader({ length: ds.length, get: (i) => i }, {
    batchSize: BATCH, shuffle, seed: 1,
    collate: (idx) => {
      const x = new Float32Array(idx.length * 784);
      const y = new Int32Array(idx.length);
      idx.forEach((i, b) => {
        const src = ds.x.subarray(i * 784, (i + 1) * 784);
        if (aug) augmentInto(img, src, rng);
        x.set(aug ? img : src, b * 784);
        y[b] = ds.y[i];
      });
      for (let k = 0; k < x.length; k++) x[k] = (x[k] - MNIST_MEAN) / MNIST_STD;
      return [tf.tensor4d(x, [idx.length, 28, 28, 1]), tf.tensor1d(y, 'int32')];
    },
  });
}

const mnist = await loadMnist();
const model = new MnistFeatureNet({ seed: 0 });
const train = loader(mnist.train, { shuffle: true, aug: true });
const trainer = new Trainer({
  model,
  optimizer: new AdamW(model, { lr: LR, weightDecay: WEIGHT_DECAY }),
  schedule: schedules.cosineWithWarmup({ warmupSteps: train.length, totalSteps: EPOCHS * train.length }),
  loss: (m, [x, y]) => crossEntropy(m.forward(x), y),
  metrics: (m, [x, y]) => ({ accuracy: tf.tidy(() => accuracy(m.forward(x), y)) }),
  callbacks: [new ProgressLogger({ mode: 'json', every: 25 })],
});
const t0 = performance.now();
const history = await trainer.fit(train, { epochs: EPOCHS });
const seconds = (performance.now() - t0) / 1000;
model.eval();
const test = trainer.evaluate(loader(mnist.test, { shuffle: false, aug: false }));
const trainEval = trainer.evaluate(loader(mnist.train, { shuffle: false, aug: false }));
mkdirSync(dirname(out), { recursive: true });
await saveModule(out, model, {
  model: 'MnistFeatureNet',
  recipe: `loadMnist() seed-0 split, 8000 train; aug rot±10 shift±2; AdamW lr ${LR} wd ${WEIGHT_DECAY} batch ${BATCH}; cosine, 1 warmup epoch; ${EPOCHS} epochs; init seed 0, shuffle seed 1`,
  test_accuracy: test.accuracy.toFixed(4),
  train_accuracy: trainEval.accuracy.toFixed(4),
  backend: tf.getBackend(),
});
// Check the saved file round-trips through the public loader.
const extractor = await mnistFeatureExtractor({ weights: new Uint8Array(await readFile(out)) });
const pred = extractor.predict({ data: mnist.test.x });
let hits = 0;
for (let i = 0; i < pred.length; i++) hits += pred[i] === mnist.test.y[i] ? 1 : 0;
extractor.dispose();
console.log(JSON.stringify({
  out, epochs: EPOCHS, seconds: +seconds.toFixed(1), params: model.numParameters(),
  lossByEpoch: history.epochs.map((e) => +e.loss.toFixed(4)),
  trainAccuracy: +trainEval.accuracy.toFixed(4), testAccuracy: +test.accuracy.toFixed(4), reloadedTestAccuracy: hits / pred.length,
}, null, 2));
