// MNIST quantization benchmark for @nutshell/quantize (not a unit test). Trains the nn MLP briefly on
// @nutshell/datasets' loadMnist (stratified 8,000 train / 2,000 test), then measures on the test split:
//   - int8 weight-only and NF4 + double quant: exact weight bytes vs fp32 and the accuracy change;
//   - 4-bit per-channel QAT vs PTQ with the same quantizer and the same training budget: from the
//     same fp32 checkpoint, QAT fine-tunes --qat-epochs through fake quant (STE) while the PTQ
//     baseline fine-tunes the same epochs (same lr, same shuffles) in fp32 and is then quantized;
//     PTQ of the checkpoint itself (no extra epochs) is reported too;
//   - inference latency (median of --reps batch-256 forwards) of fp32 / int8 / NF4 per backend.
//   node packages/quantize/bench/mnist-quant.mjs [--epochs 3] [--qat-epochs 1] [--qat-bits 4,3,2] [--backends cpu,wasm] [--reps 5] [--hidden 256] [--mixed-ratio 0.16]
// Prints one JSON object, then a table.
import { Rng, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { Adam, MLP, crossEntropy, valueAndGrads, disposeGrads } from '@nutshell/nn';
import { convertQat, prepareQat, quantizeModel, saveQuantizedModel, loadQuantizedModel, setWeightCache, sizeReport, compare } from '@nutshell/quantize';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const epochs = Number(args.epochs ?? 3);
const qatEpochs = Number(args['qat-epochs'] ?? 1);
const qatBits = String(args['qat-bits'] ?? '4,3,2').split(',').map(Number);
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
// Mixed precision: 4 strided training batches of 256 as calibration (the split is grouped by class),
// a budget between NF4 and int8.
const calibration = [0, 1, 2, 3].map((b) => tf.tidy(() => tf.gather(train.x, tf.tensor1d(Int32Array.from({ length: 256 }, (_, i) => (b + 4 * i) * 7 % train.x.shape[0]), 'int32'))));
const mixedRatio = Number(args['mixed-ratio'] ?? 0.16);
for (const [name, recipe] of [['int8', 'int8'], ['int4-g32', { default: { scheme: 'int4', groupSize: 32 } }], ['nf4+dq', 'nf4'], [`mixed@${mixedRatio}`, { budgetRatio: mixedRatio, calibration }]]) {
  const q = copy();
  const { plan } = quantizeModel(q, recipe);
  // Round-trip through safetensors so the numbers are those of a saved-and-loaded model.
  const fresh = new MLP({ sizes, seed: 1 });
  loadQuantizedModel(fresh, saveQuantizedModel(q));
  const c = await compare(fp32, fresh, accuracy);
  const s = c.size.quantized;
  results.schemes[name] = {
    accuracy: +c.quantized.toFixed(2), delta: +c.delta.toFixed(2), weightBytes: s.weightBytes, fp32WeightBytes: s.fp32WeightBytes,
    weightRatio: +s.weightRatio.toFixed(4), bitsPerParam: +s.weightBitsPerParam.toFixed(3), minSqnrDb: +Math.min(...c.layers.map((l) => l.sqnr)).toFixed(1),
  };
  if (plan) results.schemes[name].plan = plan.layers.map((l) => `${l.name}:${l.chosen.label}`).join(' ');
  q.dispose(); fresh.dispose();
}

// Per-channel QAT vs PTQ at each of --qat-bits, matched: both arms start from the fp32 checkpoint and
// train qatEpochs epochs (same lr, same seeded shuffles); only QAT sees the quantizer while training.
// The fp32 fine-tune does not depend on the bit width: run it once.
const tuned = copy();
tuned.train();
await fit(tuned, qatEpochs, 2e-4);
const tunedFp32Accuracy = accuracy(tuned);
const tunedState = tuned.stateDict({ clone: true });
tuned.dispose();
results.qatVsPtq = {};
for (const bits of qatBits) {
  const ptq0 = copy();
  prepareQat(ptq0, { bits });
  convertQat(ptq0);
  const ptq = new MLP({ sizes, seed: 0 });
  ptq.loadStateDict(tunedState);
  prepareQat(ptq, { bits });
  convertQat(ptq);
  const qat = copy();
  prepareQat(qat, { bits });
  qat.train();
  await fit(qat, qatEpochs, 2e-4);
  convertQat(qat);
  const r = {
    qatEpochs, lr: 2e-4,
    ptqCheckpointAccuracy: +accuracy(ptq0).toFixed(2),
    fp32FineTunedAccuracy: +tunedFp32Accuracy.toFixed(2),
    ptqAccuracy: +accuracy(ptq).toFixed(2),
    qatAccuracy: +accuracy(qat).toFixed(2),
  };
  r.qatMinusPtq = +(r.qatAccuracy - r.ptqAccuracy).toFixed(2);
  results.qatVsPtq[bits] = r;
  for (const m of [ptq0, ptq, qat]) m.dispose();
}
tf.dispose(Object.values(tunedState));

// Latency per backend.
results.latency = {};
const batch = tf.slice(test.x, [0, 0], [256, 784]);
for (const b of backends) {
  const p = await plugin(b);
  if (!p) { results.latency[b] = { skipped: 'not installed' }; continue; }
  try { await useBackend(p); } catch (e) { results.latency[b] = { skipped: String(e.message ?? e) }; continue; }
  const row = {};
  const q = (scheme, cache) => () => { const m = copy(); quantizeModel(m, scheme); setWeightCache(m, cache); return m; };
  for (const [name, make] of [['fp32', copy], ['int8', q('int8', 'auto')], ['nf4', q('nf4', 'auto')], ['int8NoCache', q('int8', 'off')], ['nf4NoCache', q('nf4', 'off')]]) {
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
  row.int8NoCacheVsFp32 = +(row.int8NoCache / row.fp32).toFixed(2);
  row.nf4NoCacheVsFp32 = +(row.nf4NoCache / row.fp32).toFixed(2);
  results.latency[b] = row;
}
console.log(JSON.stringify(results, null, 2));
console.log(`\n${results.model}, ${epochs} epochs, fp32 test accuracy ${results.fp32Accuracy}%`);
console.log('| scheme | weight bytes | × fp32 | bits/param | accuracy | Δ points |\n|---|---|---|---|---|---|');
for (const [k, v] of Object.entries(results.schemes)) console.log(`| ${k}${v.plan ? ` (${v.plan})` : ''} | ${v.weightBytes} | ${v.weightRatio} | ${v.bitsPerParam} | ${v.accuracy}% | ${v.delta} |`);
console.log(`\nPer-channel QAT vs PTQ, ${qatEpochs} fine-tune epoch(s) each from the same fp32 checkpoint (${results.fp32Accuracy}%; fp32 fine-tuned ${tunedFp32Accuracy.toFixed(2)}%):`);
console.log('| bits | PTQ of the checkpoint | fp32 fine-tune → PTQ | QAT | QAT − PTQ |\n|---|---|---|---|---|');
for (const [bits, r] of Object.entries(results.qatVsPtq)) console.log(`| ${bits} | ${r.ptqCheckpointAccuracy}% | ${r.ptqAccuracy}% | ${r.qatAccuracy}% | ${r.qatMinusPtq} |`);
console.log('\nbatch-256 forward, median ms (weight cache auto = eval mode keeps the dequantized weights; off = dequantize every forward)');
console.log('| backend | fp32 | int8 | nf4 | int8/fp32 | nf4/fp32 | int8 no cache | nf4 no cache | int8 nc/fp32 | nf4 nc/fp32 |\n|---|---|---|---|---|---|---|---|---|---|');
for (const [b, r] of Object.entries(results.latency)) console.log(r.skipped ? `| ${b} | skipped: ${r.skipped} |` : `| ${b} | ${r.fp32} | ${r.int8} | ${r.nf4} | ${r.int8VsFp32} | ${r.nf4VsFp32} | ${r.int8NoCache} | ${r.nf4NoCache} | ${r.int8NoCacheVsFp32} | ${r.nf4NoCacheVsFp32} |`);
