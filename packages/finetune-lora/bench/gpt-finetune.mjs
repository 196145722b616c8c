// Domain adaptation of nanoGPT's tiny-Shakespeare char GPT (CPU config: 4 layers, 4 heads, 128 dims,
// context 64, 2000 steps) to WordNet glosses — a different text — by full fine-tuning, LoRA, QLoRA
// (NF4 + double-quant base) and DoRA for the same steps and the same batches. The glosses are mapped
// to the base's 65 characters (unknown characters dropped, and counted), split 70/15/15 by line;
// learning rates are picked on the validation split and the table reports the test split.
//   node packages/finetune-lora/bench/gpt-finetune.mjs [--base DIR] [--steps 40] [--lr-full 3e-4,1e-3,3e-3] [--lr-lora 1e-2,3e-2]
//       [--no-tune] [--methods full,lora,qlora,dora] [--domain all|noun.food|…] [--r 2] [--alpha 4] [--out result.json]
// --base DIR: a folder with config.json + model.safetensors (HF GPT-2 layout) + char-tokenizer.json, as
// packages/transformer/bench/train-gpt.mjs --out writes. Without it the base is pretrained here with
// transformer's trainGpt (NANOGPT_CPU_RECIPE) on tiny Shakespeare (@nutshell/datasets; set
// NUTSHELL_DATA_DIR) and cached in the OS temp folder. Progress on stderr; JSON and a table on stdout.
import { Rng, tf, useBackend } from '@nutshell/core';
import { glossLines, loadTinyShakespeare, loadWordNet } from '@nutshell/datasets';
import { AdamW } from '@nutshell/nn';
import { GPT, NANOGPT_CPU_RECIPE, loadGpt2, loadTokenizer, trainGpt } from '@nutshell/transformer';
import { LoraModel, enableGradientCheckpointing, fullFineTune, memoryReport, prepareQLoRA, toPeftFiles } from '@nutshell/finetune-lora';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const flag = (name) => process.argv.includes(`--${name}`);
const lrList = (s) => s.split(',').map(Number);
const O = {
  base: arg('base', null),
  pretrainSteps: Number(arg('pretrain-steps', NANOGPT_CPU_RECIPE.steps)),
  domain: arg('domain', 'all'),
  maxLines: Number(arg('max-lines', 12000)),
  steps: Number(arg('steps', 40)),
  tune: !flag('no-tune'),
  batch: Number(arg('batch', NANOGPT_CPU_RECIPE.batchSize)),
  r: Number(arg('r', 2)),
  alpha: Number(arg('alpha', 2 * Number(arg('r', 2)))),
  // Validation grids; with --no-tune the first entry of each is used.
  lrFull: lrList(arg('lr-full', '3e-4,1e-3,3e-3')),
  lrLora: lrList(arg('lr-lora', '1e-2,3e-2')),
  // A subset of full,lora,qlora,dora (e.g. to widen one grid); the summary needs all four.
  methods: arg('methods', 'full,lora,qlora,dora').split(','),
  seed: 0,
  evalWindows: Number(arg('eval-windows', 96)),
  testWindows: Number(arg('test-windows', 320)),
};
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
await useBackend((await import('@nutshell/backend-wasm')).default);
const T0 = performance.now();

// ---- the base: a given folder, or pretrained here and cached (trainGpt resumes a half-done cache)
let shakespeare = null;
try {
  shakespeare = await loadTinyShakespeare();
} catch (e) {
  if (!O.base) throw e;
  log(`tiny Shakespeare unavailable (${e.message}); no forgetting column`);
}
let baseDir = O.base;
let pretrain = { dir: baseDir, cached: true, seconds: 0 };
if (!baseDir) {
  baseDir = join(tmpdir(), 'nutshell-bench-gpt-finetune', `shakespeare-char-nanogpt-cpu-${O.pretrainSteps}`);
  if (!existsSync(join(baseDir, 'model.safetensors'))) {
    log(`pretraining the base (${O.pretrainSteps} steps, NANOGPT_CPU_RECIPE) into ${baseDir}…`);
    const t = performance.now();
    const r = await trainGpt({ text: shakespeare.text, steps: O.pretrainSteps, evalEvery: Math.min(250, O.pretrainSteps), outDir: baseDir, progress: { mode: 'json', every: 100 } });
    r.model.dispose();
    pretrain = { dir: baseDir, cached: false, seconds: (performance.now() - t) / 1000 };
  }
  pretrain.dir = baseDir;
}
const base = await loadGpt2(baseDir);
const tokenizer = await loadTokenizer(baseDir);
const CONFIG = base.config;
const T = CONFIG.nPositions;
if (flag('pretrain-only')) {
  log(`base at ${baseDir}`);
  process.exit(0);
}

// ---- target domain: WordNet glosses in the base's character set, split 70/15/15 by line
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
const known = new Set(tokenizer.chars);
// Double quotes become the base's single quote; every other unknown character is dropped.
const MAP = known.has('"') ? {} : { '"': "'" };
const charStats = { total: 0, mapped: 0, dropped: 0, droppedKinds: {} };
const toBase = (line) => {
  let out = '';
  for (const ch of line) {
    charStats.total++;
    if (known.has(ch)) out += ch;
    else if (MAP[ch]) {
      out += MAP[ch];
      charStats.mapped++;
    } else {
      charStats.dropped++;
      charStats.droppedKinds[ch] = (charStats.droppedKinds[ch] ?? 0) + 1;
    }
  }
  return out.replace(/ {2,}/g, ' ').trim();
};
const records = O.domain === 'all' ? wn.records : wn.domain(O.domain).records;
const lines = shuffle(glossLines(records)).slice(0, O.maxLines).map(toBase).filter((l) => l.length > 0);
const nTrain = Math.round(lines.length * 0.7);
const nVal = Math.round(lines.length * 0.15);
const split = { train: lines.slice(0, nTrain), val: lines.slice(nTrain, nTrain + nVal), test: lines.slice(nTrain + nVal) };
const encode = (ls) => Int32Array.from(tokenizer.encode(`${ls.join('\n')}\n`));
const streams = { train: encode(split.train), val: encode(split.val), test: encode(split.test) };
charStats.topDropped = Object.entries(charStats.droppedKinds).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c, n]) => `${JSON.stringify(c)}×${n}`).join(' ');
delete charStats.droppedKinds;
log(`data: glosses (${O.domain}) ${split.train.length}/${split.val.length}/${split.test.length} lines, ${streams.train.length} train chars; ` +
  `${charStats.dropped} of ${charStats.total} chars dropped (${((100 * charStats.dropped) / charStats.total).toFixed(2)}%; ${charStats.topDropped}), ${charStats.mapped} '"' mapped to "'"`);

/** Non-overlapping [n, T+1] windows of a token stream (at most `max`). */
function windows(stream, max) {
  const n = Math.min(max, Math.floor((stream.length - 1) / T));
  const x = new Int32Array(n * T);
  const y = new Int32Array(n * T);
  for (let i = 0; i < n; i++) {
    x.set(stream.subarray(i * T, i * T + T), i * T);
    y.set(stream.subarray(i * T + 1, i * T + T + 1), i * T);
  }
  return { x, y, n };
}
const evalSets = { val: windows(streams.val, O.evalWindows), test: windows(streams.test, O.testWindows) };
// Forgetting: nanoGPT's validation split (last 10%) of tiny Shakespeare.
const shakespeareVal = shakespeare ? windows(Int32Array.from(tokenizer.encode(shakespeare.validation)), 64) : null;

/** Mean next-character NLL (nats) over a window set, in eval mode. */
function evalLoss(model, set) {
  if (!set) return null;
  model.eval();
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
  const x = new Int32Array(O.batch * T);
  const y = new Int32Array(O.batch * T);
  for (let b = 0; b < O.batch; b++) {
    const off = r.int(stream.length - T - 1);
    x.set(stream.subarray(off, off + T), b * T);
    y.set(stream.subarray(off + 1, off + T + 1), b * T);
  }
  return [tf.tensor2d(x, [O.batch, T], 'int32'), tf.tensor2d(y, [O.batch, T], 'int32')];
}

/** AdamW on the trainable parameters for `steps` steps (10-step warmup, then constant; clip 1). */
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

const baseState = base.stateDict({ clone: true });
const fresh = () => {
  const m = new GPT(CONFIG, { seed: 1 });
  m.loadStateDict(baseState);
  return m;
};
const before = { val: evalLoss(base, evalSets.val), test: evalLoss(base, evalSets.test), shakespeareVal: evalLoss(base, shakespeareVal) };
log(`base: glosses val ${before.val.toFixed(4)}, test ${before.test.toFixed(4)}; Shakespeare val ${before.shakespeareVal?.toFixed(4)}`);

// ---- methods: LoRA on every linear of the blocks (attn c_attn + c_proj, mlp c_fc + c_proj)
const TARGETS = ['c_attn', 'c_proj', 'c_fc'];
const loraCfg = (extra = {}) => ({ r: O.r, lora_alpha: O.alpha, lora_dropout: 0, target_modules: TARGETS, fan_in_fan_out: true, ...extra });
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

// ---- learning rates picked on the validation split: full FT and LoRA train once per grid lr on the
// same batches, the run with the best val loss is the one reported (its test loss is measured only
// then); QLoRA and DoRA use LoRA's lr.
const lrs = {};
const tuning = {};
const rows = {};
for (const name of Object.keys(METHODS).filter((m) => O.methods.includes(m))) {
  const grid = name === 'full' ? O.lrFull : name === 'lora' ? O.lrLora : [lrs.lora ?? O.lrLora[0]];
  const candidates = O.tune ? grid : grid.slice(0, 1);
  let best = null;
  for (const lr of candidates) {
    const { model, lora } = METHODS[name]();
    const t = performance.now();
    const run = train(model, streams.train, O.steps, lr, 'final', `${name} lr ${lr}`);
    const trainSeconds = (performance.now() - t) / 1000;
    const val = evalLoss(model, evalSets.val);
    log(`${name} lr ${lr}: val ${val.toFixed(4)} (${run.msPerStep.toFixed(0)} ms/step)`);
    if (candidates.length > 1) (tuning[name] ??= []).push({ lr, val });
    if (!best || val < best.val) {
      if (best) {
        best.lora?.dispose();
        best.model.dispose();
      }
      best = { model, lora, run, lr, val, trainSeconds };
    } else {
      lora?.dispose();
      model.dispose();
    }
  }
  const { model, lora, run, lr, trainSeconds } = best;
  lrs[name] = lr;
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
    after: { val: best.val, test: evalLoss(model, evalSets.test), shakespeareVal: evalLoss(model, shakespeareVal) },
  };
  if (name === 'qlora') {
    // Bytes of the NF4 linears alone and of the whole base (embeddings, layer norms stay fp32).
    const q = model.modules().filter((m) => typeof m.dequantizeWeight === 'function');
    const nf4 = q.reduce((n, m) => n + m.packedWeight.storageBytes(), 0);
    const fp32 = q.reduce((n, m) => n + 4 * m.inFeatures * m.outFeatures, 0);
    row.quantizedLinears = q.length;
    row.quantizedLinearBytes = nf4;
    row.quantizedLinearFp32Bytes = fp32;
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

if (!['full', 'lora', 'qlora', 'dora'].every((m) => rows[m])) {
  console.log(JSON.stringify({ options: O, before, lrs, tuning, methods: rows }));
  process.exit(0);
}
const gainFull = before.test - rows.full.after.test;
for (const row of Object.values(rows)) row.gainFractionOfFull = (before.test - row.after.test) / gainFull;
const result = {
  bench: 'gpt-finetune',
  backend: tf.getBackend(),
  options: O,
  model: CONFIG,
  pretrain,
  data: { lines: { train: split.train.length, val: split.val.length, test: split.test.length }, chars: { train: streams.train.length, val: streams.val.length, test: streams.test.length }, charStats },
  lrs,
  tuning,
  before,
  methods: rows,
  targets: {
    loraTrainableUnder2Percent: rows.lora.trainablePercent < 2,
    loraGainAtLeast80PercentOfFull: rows.lora.gainFractionOfFull >= 0.8,
    qloraWithin5PercentOfLora: Math.abs(rows.qlora.after.test - rows.lora.after.test) / rows.lora.after.test <= 0.05,
    qloraBaseBytesAtMost015: rows.qlora.baseBytesRatio <= 0.15,
  },
  wallSeconds: (performance.now() - T0) / 1000,
};
console.log(JSON.stringify(result));
const out = arg('out', null);
if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

const f = (v, d = 4) => (v == null ? '—' : v.toFixed(d));
const kb = (b) => (b == null ? '—' : `${(b / 1024).toFixed(1)} KiB`);
console.log(`\nWordNet glosses (${O.domain}) test NLL (nats/char), base ${f(before.test)} (ppl ${f(Math.exp(before.test), 3)}); ${O.steps} steps × ${O.batch} × ${T} chars each`);
console.log('| method | lr | trainable | test NLL after | ppl | gain vs full | Shakespeare val NLL | adapter file | base bytes | peak step bytes | ms/step |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(rows)) {
  console.log(`| ${name} | ${r.lr} | ${r.trainable} (${f(r.trainablePercent, 2)}%) | ${f(r.after.test)} | ${f(Math.exp(r.after.test), 3)} | ${f(100 * r.gainFractionOfFull, 1)}% | ${f(r.after.shakespeareVal)} | ${kb(r.adapterFileBytes)} | ${kb(r.baseBytes)} | ${kb(r.peakStepBytes)} | ${f(r.msPerStep, 0)} |`);
}
const q = rows.qlora;
console.log(`QLoRA base: NF4 linears ${kb(q.quantizedLinearBytes)} of ${kb(q.quantizedLinearFp32Bytes)} fp32 (${f(q.quantizedLinearBytesRatio, 3)}×), whole base ${kb(q.baseBytes)} of ${kb(q.baseFp32Bytes)} (${f(q.baseBytesRatio, 3)}×)`);
console.log(`QLoRA merge: test NLL ${f(q.after.test)} unmerged, merged into 4-bit ${f(q.mergedInto4bit.test)}, after 4-bit merge+unmerge ${f(q.unmergedAfter4bitMerge.test)}, then merged dequantized ${f(q.mergedDequantizedAfterRoundTrip.test)}; peak step bytes with checkpointing ${kb(q.peakStepBytesCheckpointed)} vs ${kb(q.peakStepBytes)}`);
console.log(`data: ${charStats.dropped} of ${charStats.total} gloss chars dropped (${f((100 * charStats.dropped) / charStats.total, 2)}%), ${charStats.mapped} mapped; Shakespeare val NLL of the base ${f(before.shakespeareVal)}`);
console.log(`targets: ${JSON.stringify(result.targets)}; wall ${f(result.wallSeconds, 0)} s`);
