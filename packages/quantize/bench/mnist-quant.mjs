// MNIST quantization benchmark for @nutshell/quantize (not a unit test). Trains the nn MLP briefly on
// @nutshell/datasets' loadMnist (stratified 8,000 train / 2,000 test), then measures on the test split:
//   - int8 weight-only and NF4 + double quant: exact weight bytes vs fp32 and the accuracy change;
//   - 4-bit per-channel QAT (STE, a short fine-tune) vs 4-bit PTQ with the same quantizer;
//   - inference latency (median of --reps batch-256 forwards) of fp32 / int8 / NF4 per backend.
//   node packages/quantize/bench/mnist-quant.mjs [--epochs 3] [--qat-epochs 1] [--backends cpu,wasm] [--reps 5] [--hidden 256]
// Prints one JSON object, then a table.
import { Rng, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { Adam, MLP, crossEntropy, valueAndGrads, disposeGrads } from '@nutshell/nn';
import { convertQat, prepareQat, quantizeModel, saveQuantizedModel, loadQuantizedModel, sizeReport, compare } from '@nutshell/quantize';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const epochs = Number(args.epochs ?? 3);
const qatEpochs = Number(args['qat-epochs'] ?? 1);
const backends = (args.backends ?? 'wasm,cpu').split(',');
const reps = Number(args.reps ?? 5);
const hidden = Number(args.hidden ?? 256);
const sizes = [784, hidden, 10];

async function plugin(name) {
  if (name === 'cpu') return 'cpu';
  try { return (await import(`@nutshell/backend-${name}`)).default; } catch { return null; }
}
const first = await plugin(backends[0]);
if (first) await useBackend(first);

const mnist = await loadMnist({ range: [0, 1], seed: 0 });
const toTensors = (split) => ({
  x: tf.tensor2d(Float32Array.from(split.x, (v) => (v - 0.1307) / 0.3081), [split.length, 784]),
  y: tf.tensor1d(Int32Array.from(split.y), 'int32'),
});
const train = toTensors(mnist.train);
const test = toTensors(mnist.test);

async function fit(model, nEpochs, lr) {
  const opt = new Adam(model, { lr });
  const n = train.x.shape[0];
  for (let e = 0; e < nEpochs; e++) {
    // The split is grouped by class: shuffle every epoch (seeded).
    const rng = new Rng(`epoch-${e}`);
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rng.uniform() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    for (let b = 0; b < n; b += 128) {
      const size = Math.min(128, n - b);
      const idx = tf.tensor1d(perm.subarray(b, b + size), 'int32');
      const xb = tf.gather(train.x, idx);
      const yb = tf.gather(train.y, idx);
      idx.dispose();
      const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(xb), yb), model);
      opt.step(grads);
      disposeGrads(grads);
      tf.dispose([value, xb, yb]);
    }
  }
}
const accuracy = (model) => tf.tidy(() => {
  model.eval();
  const pred = tf.argMax(model.forward(test.x), 1);
  return tf.mean(tf.cast(tf.equal(pred, test.y), 'float32')).dataSync()[0] * 100;
});

const t0 = performance.now();
const fp32 = new MLP({ sizes, seed: 0 });
await fit(fp32, epochs, 1e-3);
const trainSeconds = (performance.now() - t0) / 1000;
const state = fp32.stateDict({ clone: true });
const copy = () => { const m = new MLP({ sizes, seed: 0 }); m.loadStateDict(state); return m; };

const results = { model: `MLP ${sizes.join('-')}`, epochs, trainSeconds: +trainSeconds.toFixed(1), fp32Accuracy: +accuracy(fp32).toFixed(2), schemes: {} };
for (const [name, recipe] of [['int8', 'int8'], ['int4-g32', { default: { scheme: 'int4', groupSize: 32 } }], ['nf4+dq', 'nf4']]) {
  const q = copy();
  quantizeModel(q, recipe);
  // Round-trip through safetensors so the numbers are those of a saved-and-loaded model.
  const fresh = new MLP({ sizes, seed: 1 });
  loadQuantizedModel(fresh, saveQuantizedModel(q));
  const c = await compare(fp32, fresh, accuracy);
  const s = c.size.quantized;
  results.schemes[name] = {
    accuracy: +c.quantized.toFixed(2), delta: +c.delta.toFixed(2), weightBytes: s.weightBytes, fp32WeightBytes: s.fp32WeightBytes,
    weightRatio: +s.weightRatio.toFixed(4), bitsPerParam: +s.weightBitsPerParam.toFixed(3), minSqnrDb: +Math.min(...c.layers.map((l) => l.sqnr)).toFixed(1),
  };
  q.dispose(); fresh.dispose();
}

// 4-bit per-channel: PTQ (convert right away) vs QAT (fine-tune through fake quant first).
const ptq = copy();
prepareQat(ptq, { bits: 4 });
convertQat(ptq);
const qat = copy();
prepareQat(qat, { bits: 4 });
qat.train();
await fit(qat, qatEpochs, 2e-4);
convertQat(qat);
results.fourBit = { ptqAccuracy: +accuracy(ptq).toFixed(2), qatAccuracy: +accuracy(qat).toFixed(2), qatEpochs };

// Latency per backend.
results.latency = {};
const batch = tf.slice(test.x, [0, 0], [256, 784]);
for (const b of backends) {
  const p = await plugin(b);
  if (!p) { results.latency[b] = { skipped: 'not installed' }; continue; }
  try { await useBackend(p); } catch (e) { results.latency[b] = { skipped: String(e.message ?? e) }; continue; }
  const row = {};
  for (const [name, make] of [['fp32', copy], ['int8', () => { const m = copy(); quantizeModel(m, 'int8'); return m; }], ['nf4', () => { const m = copy(); quantizeModel(m, 'nf4'); return m; }]]) {
    const m = make();
    m.eval();
    const x = tf.clone(batch);
    const times = [];
    for (let r = 0; r < reps + 1; r++) {
      const s = performance.now();
      const y = m.forward(x);
      await y.data();
      y.dispose();
      if (r > 0) times.push(performance.now() - s);
    }
    times.sort((a, c) => a - c);
    row[name] = +times[Math.floor(times.length / 2)].toFixed(2);
    x.dispose();
    m.dispose();
  }
  row.int8VsFp32 = +(row.int8 / row.fp32).toFixed(2);
  row.nf4VsFp32 = +(row.nf4 / row.fp32).toFixed(2);
  results.latency[b] = row;
}
console.log(JSON.stringify(results, null, 2));
console.log(`\n${results.model}, ${epochs} epochs, fp32 test accuracy ${results.fp32Accuracy}%`);
console.log('| scheme | weight bytes | × fp32 | bits/param | accuracy | Δ points |\n|---|---|---|---|---|---|');
for (const [k, v] of Object.entries(results.schemes)) console.log(`| ${k} | ${v.weightBytes} | ${v.weightRatio} | ${v.bitsPerParam} | ${v.accuracy}% | ${v.delta} |`);
console.log(`\n4-bit per-channel: PTQ ${results.fourBit.ptqAccuracy}%, QAT (${qatEpochs} epoch) ${results.fourBit.qatAccuracy}%`);
console.log('\n| backend | fp32 ms | int8 ms | nf4 ms | int8/fp32 | nf4/fp32 |\n|---|---|---|---|---|---|');
for (const [b, r] of Object.entries(results.latency)) console.log(r.skipped ? `| ${b} | skipped: ${r.skipped} |` : `| ${b} | ${r.fp32} | ${r.int8} | ${r.nf4} | ${r.int8VsFp32} | ${r.nf4VsFp32} |`);
