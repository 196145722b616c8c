// Domain adaptation of a small character-level GPT (@nutshell/transformer): pretrained on WordNet
// glosses of every lexicographer file except one (default noun.food), then fine-tuned on that held-out
// domain with full fine-tuning, LoRA, QLoRA (NF4 + double-quant base) and DoRA for the same steps
// and the same batches. Learning rates are picked on the domain's validation split; the table reports
// the test split. The pretrained checkpoint is cached in the OS temp folder (keyed by its settings).
//   node packages/finetune-lora/bench/gpt-finetune.mjs [--steps 80] [--tune-steps 30] [--pretrain-steps 500] [--pretrain-only] [--no-tune]
//       [--r 1] [--domain noun.food] [--out result.json]
// Prints progress on stderr, then one JSON object and a table on stdout.
import { Rng, loadSafetensors, saveSafetensors, tf, useBackend } from '@nutshell/core';
import { glossLines, loadWordNet } from '@nutshell/datasets';
import { AdamW } from '@nutshell/nn';
import { CharTokenizer, GPT } from '@nutshell/transformer';
import { LoraModel, enableGradientCheckpointing, fullFineTune, memoryReport, prepareQLoRA, toPeftFiles } from '@nutshell/finetune-lora';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const flag = (name) => process.argv.includes(`--${name}`);
const O = {
  domain: arg('domain', 'noun.food'),
  steps: Number(arg('steps', 80)),
  pretrainSteps: Number(arg('pretrain-steps', 500)),
  tuneSteps: Number(arg('tune-steps', 30)),
  tune: !flag('no-tune'),
  batch: Number(arg('batch', 16)),
  ctx: Number(arg('ctx', 64)),
  embd: Number(arg('embd', 64)),
  layers: Number(arg('layers', 3)),
  heads: 4,
  r: Number(arg('r', 1)),
  // Used when --no-tune (the values the validation grid picked on the reference run).
  lrFull: Number(arg('lr-full', 1e-3)),
  lrLora: Number(arg('lr-lora', 1e-2)),
  seed: 0,
  evalWindows: Number(arg('eval-windows', 96)),
};
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
await useBackend((await import('@nutshell/backend-wasm')).default);
const T0 = performance.now();

// ---- data: general glosses (pretraining), the held-out domain split 70/15/15 into train/val/test
const wn = await loadWordNet();
const rng = new Rng(`gpt-finetune/${O.seed}`);
const shuffle = (a) => {
  const b = a.slice();
  for (let i = b.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [b[i], b[j]] = [b[j], b[i]];
  }
  return b;
};
const general = shuffle(glossLines(wn.records.filter((s) => s.domain !== O.domain)));
const domain = shuffle(glossLines(wn.domain(O.domain).records));
const nTrain = Math.round(domain.length * 0.7);
const nVal = Math.round(domain.length * 0.15);
const split = { train: domain.slice(0, nTrain), val: domain.slice(nTrain, nTrain + nVal), test: domain.slice(nTrain + nVal) };
// Characters of every line, so no split meets an unknown character (the vocabulary says nothing of content).
const tokenizer = CharTokenizer.fromText([...general, ...domain].join('\n') + '\n');
const encode = (lines) => Int32Array.from(tokenizer.encode(`${lines.join('\n')}\n`));
const streams = {
  general: encode(general.slice(0, Math.ceil((O.pretrainSteps * O.batch * O.ctx) / 60) + 2000)),
  train: encode(split.train),
  val: encode(split.val),
  test: encode(split.test),
};
const CONFIG = { vocabSize: tokenizer.vocabSize, nPositions: O.ctx, nEmbd: O.embd, nLayer: O.layers, nHead: O.heads, bias: true, dropout: 0 };
log(`data: ${general.length} general lines, ${O.domain}: ${split.train.length}/${split.val.length}/${split.test.length} lines; ${streams.train.length} domain train chars; vocab ${tokenizer.vocabSize}`);

/** Non-overlapping [n, T+1] windows of a token stream (at most `max`). */
function windows(stream, max) {
  const T = O.ctx;
  const n = Math.min(max, Math.floor((stream.length - 1) / T));
  const x = new Int32Array(n * T);
  const y = new Int32Array(n * T);
  for (let i = 0; i < n; i++) {
    x.set(stream.subarray(i * T, i * T + T), i * T);
    y.set(stream.subarray(i * T + 1, i * T + T + 1), i * T);
  }
  return { x, y, n };
}
const evalSets = { val: windows(streams.val, O.evalWindows), test: windows(streams.test, 400) };

/** Mean next-character NLL (nats) over a window set, in eval mode. */
function evalLoss(model, set) {
  model.eval();
  const T = O.ctx;
  let total = 0;
  for (let i = 0; i < set.n; i += 32) {
    const b = Math.min(32, set.n - i);
    const x = tf.tensor2d(set.x.subarray(i * T, (i + b) * T), [b, T], 'int32');
    const y = tf.tensor2d(set.y.subarray(i * T, (i + b) * T), [b, T], 'int32');
    const l = model.loss(x, y);
    total += l.dataSync()[0] * b;
    tf.dispose([x, y, l]);
  }
  model.train();
  return total / set.n;
}

/** A random batch from a stream (the caller's Rng decides the offsets). */
function batch(stream, r) {
  const T = O.ctx;
  const x = new Int32Array(O.batch * T);
  const y = new Int32Array(O.batch * T);
  for (let b = 0; b < O.batch; b++) {
    const off = r.int(stream.length - T - 1);
    x.set(stream.subarray(off, off + T), b * T);
    y.set(stream.subarray(off + 1, off + T + 1), b * T);
  }
  return [tf.tensor2d(x, [O.batch, T], 'int32'), tf.tensor2d(y, [O.batch, T], 'int32')];
}

/** AdamW on the trainable parameters for `steps` steps (constant lr after a 10-step warmup, clip 1). */
function train(model, stream, steps, lr, seed, label) {
  const params = model.parameters({ trainableOnly: true });
  const opt = new AdamW(params, { lr, weightDecay: 0 });
  const r = new Rng(seed);
  const t0 = performance.now();
  let last = NaN;
  for (let s = 0; s < steps; s++) {
    opt.setLr(lr * Math.min(1, (s + 1) / 10));
    const [x, y] = batch(stream, r);
    last = opt.minimize(() => model.loss(x, y), { maxGradNorm: 1 });
    tf.dispose([x, y]);
    if ((s + 1) % 50 === 0) log(`  ${label} step ${s + 1}/${steps} loss ${last.toFixed(3)}`);
  }
  const msPerStep = (performance.now() - t0) / Math.max(1, steps);
  const optimizerStateBytes = memoryReport(model, opt).optimizerStateBytes;
  opt.dispose();
  return { msPerStep, optimizerStateBytes, lastLoss: last };
}

/** Peak tensor bytes of one training step above what was alive before it (activations, grads). */
async function peakStepBytes(model, stream) {
  const [x, y] = batch(stream, new Rng('peak'));
  const params = model.parameters({ trainableOnly: true });
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), params);
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([x, y]);
  return info.peakBytes - before;
}

// ---- pretraining (cached)
const key = createHash('sha256').update(JSON.stringify({ CONFIG, chars: tokenizer.toJSON(), steps: O.pretrainSteps, batch: O.batch, domain: O.domain, v: 1 })).digest('hex').slice(0, 16);
const cacheDir = join(tmpdir(), 'nutshell-bench-gpt-finetune');
const cacheFile = join(cacheDir, `base-${key}.safetensors`);
const base = new GPT(CONFIG, { seed: 1 });
let pretrain = { cached: true, seconds: 0 };
if (existsSync(cacheFile)) {
  const { tensors } = loadSafetensors(readFileSync(cacheFile));
  base.loadStateDict(tensors);
  tf.dispose(Object.values(tensors));
  log(`pretrained base loaded from ${cacheFile}`);
} else {
  log(`pretraining ${O.pretrainSteps} steps on general glosses…`);
  const t = performance.now();
  const params = base.parameters();
  const opt = new AdamW(params, { lr: 2e-3, weightDecay: 0.01 });
  const r = new Rng('pretrain');
  for (let s = 0; s < O.pretrainSteps; s++) {
    // warmup 20 steps, cosine to 10%
    const p = s / O.pretrainSteps;
    opt.setLr(2e-3 * Math.min(1, (s + 1) / 20) * (0.1 + 0.45 * (1 + Math.cos(Math.PI * p))));
    const [x, y] = batch(streams.general, r);
    const l = opt.minimize(() => base.loss(x, y), { maxGradNorm: 1 });
    tf.dispose([x, y]);
    if ((s + 1) % 50 === 0) log(`  pretrain step ${s + 1}/${O.pretrainSteps} loss ${l.toFixed(3)}`);
  }
  opt.dispose();
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cacheFile, saveSafetensors(base.stateDict()));
  pretrain = { cached: false, seconds: (performance.now() - t) / 1000 };
}
if (flag('pretrain-only')) {
  log(`pretrained base cached at ${cacheFile}`);
  process.exit(0);
}
const baseState = base.stateDict({ clone: true });
const fresh = () => {
  const m = new GPT(CONFIG, { seed: 1 });
  m.loadStateDict(baseState);
  return m;
};
const generalVal = windows(encode(general.slice(-400)), O.evalWindows);
const before = { val: evalLoss(base, evalSets.val), test: evalLoss(base, evalSets.test), generalVal: evalLoss(base, generalVal) };
log(`base: domain val ${before.val.toFixed(4)}, test ${before.test.toFixed(4)}; general ${before.generalVal.toFixed(4)}`);

// ---- methods
const TARGETS = ['c_attn', 'c_proj', 'c_fc'];
const loraCfg = (extra = {}) => ({ r: O.r, lora_alpha: 2 * O.r, lora_dropout: 0, target_modules: TARGETS, fan_in_fan_out: true, ...extra });
const METHODS = {
  full: () => {
    const m = fresh();
    fullFineTune(m);
    return { model: m, lora: null };
  },
  lora: () => {
    const m = fresh();
    return { model: m, lora: new LoraModel(m, loraCfg(), { seed: 0 }) };
  },
  qlora: () => {
    const m = fresh();
    return { model: m, lora: prepareQLoRA(m, loraCfg(), { seed: 0 }) };
  },
  dora: () => {
    const m = fresh();
    return { model: m, lora: new LoraModel(m, loraCfg({ use_dora: true }), { seed: 0 }) };
  },
};

// ---- learning rates picked on the validation split (LoRA-family lr is usually ~10× full FT's)
const lrs = { full: O.lrFull, lora: O.lrLora };
const tuning = {};
if (O.tune) {
  const grids = { full: [3e-4, 1e-3, 3e-3], lora: [3e-3, 1e-2, 3e-2] };
  for (const [name, grid] of Object.entries(grids)) {
    tuning[name] = [];
    for (const lr of grid) {
      const { model, lora } = METHODS[name]();
      train(model, streams.train, O.tuneSteps, lr, 'tune', `tune ${name} lr ${lr}`);
      const val = evalLoss(model, evalSets.val);
      tuning[name].push({ lr, val });
      log(`tune ${name} lr ${lr}: val ${val.toFixed(4)}`);
      lora?.dispose();
      model.dispose();
    }
    lrs[name] = tuning[name].reduce((a, b) => (b.val < a.val ? b : a)).lr;
  }
}
log(`lr: full ${lrs.full}, LoRA/QLoRA/DoRA ${lrs.lora}`);

const rows = {};
for (const name of Object.keys(METHODS)) {
  const { model, lora } = METHODS[name]();
  const lr = name === 'full' ? lrs.full : lrs.lora;
  const t = performance.now();
  const run = train(model, streams.train, O.steps, lr, 'final', name);
  const trainSeconds = (performance.now() - t) / 1000;
  const mem = memoryReport(model);
  const peak = await peakStepBytes(model, streams.train);
  const row = {
    lr,
    trainable: mem.trainableParams,
    total: mem.totalParams,
    trainablePercent: (100 * mem.trainableParams) / mem.totalParams,
    baseBytes: mem.baseBytes,
    baseFp32Bytes: mem.baseFp32Bytes,
    adapterFileBytes: lora ? toPeftFiles(lora).weights.byteLength : null,
    optimizerStateBytes: run.optimizerStateBytes,
    peakStepBytes: peak,
    msPerStep: run.msPerStep,
    trainSeconds,
    after: { val: evalLoss(model, evalSets.val), test: evalLoss(model, evalSets.test), generalVal: evalLoss(model, generalVal) },
  };
  if (name === 'qlora') {
    // NF4 share of the quantized linear weights alone, and what merging into the 4-bit base costs.
    const q = model.modules().filter((m) => typeof m.dequantizeWeight === 'function');
    const nf4 = q.reduce((n, m) => n + m.packedWeight.storageBytes(), 0);
    const fp32 = q.reduce((n, m) => n + 4 * m.inFeatures * m.outFeatures, 0);
    row.quantizedLinearBytesRatio = nf4 / fp32;
    row.baseBytesRatio = mem.baseBytes / mem.baseFp32Bytes;
    // merge re-quantizes W + ΔW into NF4; unmerge re-quantizes again, so the base drifts: the
    // dequantized merge is compared with the unmerged model it starts from.
    lora.merge();
    row.mergedInto4bit = { test: evalLoss(model, evalSets.test) };
    lora.unmerge();
    row.unmergedAfter4bitMerge = { test: evalLoss(model, evalSets.test) };
    lora.mergeAndUnload({ dequantize: true });
    row.mergedDequantizedAfterRoundTrip = { test: evalLoss(model, evalSets.test) };
    // activation peak of the same QLoRA step with the blocks checkpointed
    const again = METHODS.qlora();
    enableGradientCheckpointing(again.model, { modules: 'transformer\\.h\\.\\d+' });
    row.peakStepBytesCheckpointed = await peakStepBytes(again.model, streams.train);
    again.lora.dispose();
    again.model.dispose();
  } else lora?.dispose();
  model.dispose();
  rows[name] = row;
  log(`${name}: test ${before.test.toFixed(4)} -> ${row.after.test.toFixed(4)} (${run.msPerStep.toFixed(0)} ms/step)`);
}

const gainFull = before.test - rows.full.after.test;
for (const row of Object.values(rows)) row.gainFractionOfFull = (before.test - row.after.test) / gainFull;
const result = {
  bench: 'gpt-finetune',
  backend: tf.getBackend(),
  options: O,
  model: CONFIG,
  pretrain: { ...pretrain, steps: O.pretrainSteps, cacheFile },
  lrs,
  tuning,
  before,
  methods: rows,
  targets: {
    loraGainAtLeast80PercentOfFull: rows.lora.gainFractionOfFull >= 0.8,
    loraTrainableUnder2Percent: rows.lora.trainablePercent < 2,
    qloraWithin5PercentOfLora: Math.abs(rows.qlora.after.test - rows.lora.after.test) / rows.lora.after.test <= 0.05,
    qloraQuantizedBytesAtMost015: rows.qlora.quantizedLinearBytesRatio <= 0.15,
  },
  wallSeconds: (performance.now() - T0) / 1000,
};
console.log(JSON.stringify(result));
const out = arg('out', null);
if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

const f = (v, d = 4) => (v == null ? '—' : v.toFixed(d));
const kb = (b) => (b == null ? '—' : `${(b / 1024).toFixed(1)} KiB`);
console.log(`\n${O.domain} held-out test NLL (nats/char), base ${f(before.test)} (ppl ${f(Math.exp(before.test), 3)}); ${O.steps} steps each`);
console.log('| method | lr | trainable | test NLL after | ppl | gain vs full | general NLL | adapter file | base bytes | peak step bytes | ms/step |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(rows)) {
  console.log(`| ${name} | ${r.lr} | ${r.trainable} (${f(r.trainablePercent, 2)}%) | ${f(r.after.test)} | ${f(Math.exp(r.after.test), 3)} | ${f(100 * r.gainFractionOfFull, 1)}% | ${f(r.after.generalVal)} | ${kb(r.adapterFileBytes)} | ${kb(r.baseBytes)} | ${kb(r.peakStepBytes)} | ${f(r.msPerStep, 0)} |`);
}
const q = rows.qlora;
console.log(`QLoRA: NF4 linear weights ${f(q.quantizedLinearBytesRatio, 3)}× fp32 (whole base ${f(q.baseBytesRatio, 3)}×); test NLL ${f(q.after.test)} unmerged, merged into 4-bit ${f(q.mergedInto4bit.test)}, after 4-bit merge+unmerge ${f(q.unmergedAfter4bitMerge.test)}, then merged dequantized ${f(q.mergedDequantizedAfterRoundTrip.test)}; peak step bytes with checkpointing ${kb(q.peakStepBytesCheckpointed)} vs ${kb(q.peakStepBytes)}`);
console.log(`targets: ${JSON.stringify(result.targets)}; wall ${f(result.wallSeconds, 0)} s`);
