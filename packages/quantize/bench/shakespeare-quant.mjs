// Quantization of the tiny-Shakespeare character GPT (nanoGPT's shakespeare_char recipe at CPU size:
// 4 layers, 4 heads, 128 dims, context 64), measured on the whole validation split (the last 10% of
// the text, as nanoGPT and trainGpt split it). Not a unit test.
//
//   node packages/quantize/bench/shakespeare-quant.mjs [--ckpt DIR] [--base-steps 2000]
//        [--qat-steps 200] [--qat-lr 1e-4] [--batch 12] [--backends wasm,native] [--train-backend wasm]
//        [--eval-backend native] [--eval-windows 512] [--rounds 7] [--gen-tokens 48] [--json FILE]
//
// Perplexity: --eval-windows non-overlapping windows of the context length (T inputs, T targets),
// evenly spaced over the whole validation split (0 = all of them, ~1742: slow on a loaded 2-core box),
// the same windows for every model.
// --ckpt DIR: a model folder written by trainGpt / train-gpt.mjs --out (config.json, model.safetensors,
// char-tokenizer.json). Without it the base model is trained here with transformer's trainGpt and
// NANOGPT_CPU_RECIPE (--base-steps steps) and cached in the OS temp dir, so later runs reuse it.
//
// Rows (weights: every attention / MLP projection; embeddings, LayerNorms stay float32):
//   fp32 · int8 per channel · int4 per channel (one scale per output channel, PyTorch's symmetric
//   int4 −8..7) · int4 groups of 32 · NF4 + double quantization (bitsandbytes, block 64) ·
//   int4 per channel with the QAT quantizer (narrow −7..7, scale absmax/7) applied to the checkpoint ·
//   matched pair from the same checkpoint, same --qat-steps, same batches, same lr:
//     control: fp32 fine-tune, then PTQ (both int4 per-channel quantizers);
//     QAT: fine-tune through 4-bit per-channel fake quantization (STE), then convertQat.
// Per row: stored weight bytes (projections; whole model) vs fp32, validation perplexity and its
// change, greedy generation tokens/s vs fp32 per backend (KV cache on, weight cache on; the models
// take turns within each round, best and median of --rounds reported).
// Prints one JSON object, then markdown tables.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, getBackendPlugins, registerBackendPlugin, tf, useBackend } from '@nutshell/core';
import { loadTinyShakespeare } from '@nutshell/datasets';
import { AdamW, valueAndGrads, disposeGrads } from '@nutshell/nn';
import { GPT, NANOGPT_CPU_RECIPE, generate, loadGpt2, loadTokenizer, trainGpt } from '@nutshell/transformer';
import { convertQat, prepareQat, quantizeModel, quantizableLayers, sizeReport } from '@nutshell/quantize';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const baseSteps = Number(arg('base-steps', NANOGPT_CPU_RECIPE.steps));
const qatSteps = Number(arg('qat-steps', 200));
const qatLr = Number(arg('qat-lr', 1e-4));
const batch = Number(arg('batch', NANOGPT_CPU_RECIPE.batchSize));
const backends = arg('backends', 'wasm,native').split(',');
const trainBackend = arg('train-backend', 'wasm');
const rounds = Number(arg('rounds', 7));
const genTokens = Number(arg('gen-tokens', 48));
const evalBackend = arg('eval-backend', 'native');
const evalWindows = Number(arg('eval-windows', 512));
const jsonOut = arg('json', undefined);
const log = (...a) => console.error(`[${((performance.now() - T0) / 1000).toFixed(0)}s]`, ...a);
const T0 = performance.now();

async function tryBackend(name) {
  try {
    if (name === 'cpu') return (await useBackend('cpu'), null);
    if (!getBackendPlugins().some((p) => p.name === name)) {
      const mod = await import(`@nutshell/backend-${name}`);
      if (!getBackendPlugins().some((p) => p.name === name)) registerBackendPlugin(mod.default);
    }
    const plugin = getBackendPlugins().find((p) => p.name === name);
    const a = await plugin.isAvailable();
    if (!a.available) return a.reason;
    await useBackend(name);
    return null;
  } catch (e) {
    return String(e.message ?? e);
  }
}

const why = await tryBackend(trainBackend);
if (why) throw new Error(`train backend ${trainBackend} unavailable: ${why}`);
const corpus = await loadTinyShakespeare();

// ---- base model ------------------------------------------------------------------------------
let ckpt = arg('ckpt', undefined);
let trainedHere = false;
if (!ckpt) {
  ckpt = join(tmpdir(), `nutshell-shakespeare-gpt-${baseSteps}`);
  if (!existsSync(join(ckpt, 'model.safetensors'))) {
    log(`training the base GPT (${baseSteps} steps, NANOGPT_CPU_RECIPE) into ${ckpt} …`);
    mkdirSync(ckpt, { recursive: true });
    // trainGpt resumes from ckpt/checkpoint.safetensors if an earlier run was interrupted.
    const r = await trainGpt({ text: corpus.text, steps: baseSteps, outDir: ckpt, progress: false });
    r.model.dispose();
    trainedHere = true;
  }
}
const base = await loadGpt2(ckpt);
const tokenizer = await loadTokenizer(ckpt);
base.eval();
const T = base.config.nPositions;
const trainIds = Int32Array.from(tokenizer.encode(corpus.train));
const valIds = Int32Array.from(tokenizer.encode(corpus.validation));
log(`base: ${ckpt} (${base.config.nLayer} layers, ${base.config.nEmbd} dims, context ${T}, vocab ${base.config.vocabSize}); train ${trainIds.length} / val ${valIds.length} tokens`);

const clone = (src = base) => {
  const c = new GPT(src.config, { seed: 0 });
  c.loadStateDict(src.stateDict());
  c.eval();
  return c;
};

// ---- validation perplexity: non-overlapping windows of T (+1 target), evenly spaced over the split ---
const nWin = Math.floor((valIds.length - 1) / T);
const useWin = evalWindows > 0 ? Math.min(evalWindows, nWin) : nWin;
const winStart = Array.from({ length: useWin }, (_, i) => Math.floor((i * nWin) / useWin) * T);
function perplexity(m) {
  m.eval();
  const B = 128;
  let sum = 0;
  let n = 0;
  for (let w = 0; w < useWin; w += B) {
    const b = Math.min(B, useWin - w);
    const x = new Int32Array(b * T);
    const y = new Int32Array(b * T);
    for (let i = 0; i < b; i++) {
      const o = winStart[w + i];
      x.set(valIds.subarray(o, o + T), i * T);
      y.set(valIds.subarray(o + 1, o + T + 1), i * T);
    }
    const loss = tf.tidy(() => m.loss(tf.tensor2d(x, [b, T], 'int32'), tf.tensor2d(y, [b, T], 'int32')));
    sum += loss.dataSync()[0] * b * T;
    n += b * T;
    loss.dispose();
  }
  return Math.exp(sum / n);
}

// ---- fine-tuning (both arms of the QAT comparison): same batches, lr, schedule ----------------
function fineTune(m, steps) {
  m.train();
  const decay = m.parameters().filter((p) => p.rank >= 2);
  const noDecay = m.parameters().filter((p) => p.rank < 2);
  const opt = new AdamW([{ params: decay, options: { weightDecay: NANOGPT_CPU_RECIPE.weightDecay } }, { params: noDecay, options: { weightDecay: 0 } }], { lr: qatLr, betas: [...NANOGPT_CPU_RECIPE.betas] });
  const rng = new Rng('shakespeare-quant/finetune');
  const warmup = Math.min(20, Math.floor(steps / 5));
  let last = NaN;
  for (let s = 0; s < steps; s++) {
    // Linear warmup, then cosine to 10% (the base run ended at its minimum lr; restarting at full lr
    // would first undo some of it).
    const f = s < warmup ? (s + 1) / warmup : 0.1 + 0.45 * (1 + Math.cos((Math.PI * (s - warmup)) / Math.max(1, steps - warmup)));
    for (const g of opt.groups) g.lr = qatLr * f;
    const x = new Int32Array(batch * T);
    const y = new Int32Array(batch * T);
    for (let b = 0; b < batch; b++) {
      const o = rng.int(trainIds.length - T - 1);
      x.set(trainIds.subarray(o, o + T), b * T);
      y.set(trainIds.subarray(o + 1, o + T + 1), b * T);
    }
    const xt = tf.tensor2d(x, [batch, T], 'int32');
    const yt = tf.tensor2d(y, [batch, T], 'int32');
    const { value, grads } = valueAndGrads(() => m.loss(xt, yt), m);
    opt.step(grads, { maxGradNorm: NANOGPT_CPU_RECIPE.gradClip });
    disposeGrads(grads);
    last = value.dataSync()[0];
    tf.dispose([value, xt, yt]);
    if ((s + 1) % 50 === 0) log(`  step ${s + 1}/${steps} loss ${last.toFixed(4)}`);
  }
  opt.dispose();
  m.eval();
  return last;
}

// ---- the models -------------------------------------------------------------------------------
const projNames = quantizableLayers(base).filter(([, , k]) => k === 'linear').map(([n]) => n);
const perChannelInt4 = (m) => ({
  // One group per output row = per-channel: group size = the layer's input features.
  rules: quantizableLayers(m).filter(([, , k]) => k === 'linear').map(([name, l]) => ({ match: name, scheme: 'int4', groupSize: l.fanInFanOut ? l.weight.shape[0] : l.weight.shape[1] })),
  default: 'none',
});
const ptqQatQuantizer = (m) => {
  prepareQat(m, { bits: 4 });
  convertQat(m);
  return m;
};
const withRecipe = (recipe) => (m) => (quantizeModel(m, typeof recipe === 'function' ? recipe(m) : recipe), m);

const rows = [];
const add = (key, label, model, extra = {}) => {
  const rep = sizeReport(model);
  const proj = rep.layers.filter((l) => projNames.includes(l.name));
  rows.push({ key, label, model, projWeightBytes: proj.reduce((a, l) => a + l.bytes, 0), weightBytes: rep.weightBytes, totalBytes: rep.totalBytes, ...extra });
};

add('fp32', 'fp32', base);
for (const [key, label, make] of [
  ['int8', 'int8 per channel', withRecipe({ default: 'int8' })],
  ['int4-pc', 'int4 per channel', withRecipe(perChannelInt4)],
  ['int4-g32', 'int4 groups of 32', withRecipe({ default: { scheme: 'int4', groupSize: 32 } })],
  ['nf4', 'NF4 + DQ (block 64)', withRecipe({ default: { scheme: 'nf4', groupSize: 64, doubleQuant: true } })],
  ['int4-pc-qatq', 'int4 per channel, QAT quantizer (±7)', ptqQatQuantizer],
]) {
  add(key, label, make(clone()));
}
log('PTQ models built; fine-tuning …');

let ftFp32Loss = NaN;
let qatLoss = NaN;
const ft = clone();
let t = performance.now();
ftFp32Loss = fineTune(ft, qatSteps);
const ftSeconds = (performance.now() - t) / 1000;
log(`fp32 fine-tune: ${ftSeconds.toFixed(0)} s`);
add('ft-fp32', `fp32 fine-tuned ${qatSteps} steps (control, before PTQ)`, ft, { tuned: true });
add('ft-int4-pc-qatq', `control: fine-tune → PTQ int4 per channel (±7)`, ptqQatQuantizer(clone(ft)), { tuned: true });
add('ft-int4-pc', `control: fine-tune → PTQ int4 per channel (−8..7)`, withRecipe(perChannelInt4)(clone(ft)), { tuned: true });

const qat = clone();
prepareQat(qat, { bits: 4, method: 'ste' });
t = performance.now();
qatLoss = fineTune(qat, qatSteps);
const qatSeconds = (performance.now() - t) / 1000;
log(`QAT: ${qatSeconds.toFixed(0)} s`);
let evalOn = evalBackend;
const ew = await tryBackend(evalBackend);
if (ew) {
  log(`eval backend ${evalBackend} unavailable (${ew}); evaluating on ${trainBackend}`);
  evalOn = trainBackend;
  await tryBackend(trainBackend);
}
const qatFakePpl = perplexity(qat); // through fake quant, before conversion
convertQat(qat);
add('qat-int4-pc', `QAT ${qatSteps} steps → int4 per channel (±7)`, qat, { tuned: true });

const fpPpl = perplexity(base);
for (const r of rows) {
  r.perplexity = r.key === 'fp32' ? fpPpl : perplexity(r.model);
  r.perplexityChange = r.perplexity / fpPpl - 1;
  r.projWeightRatio = r.projWeightBytes / rows[0].projWeightBytes;
  r.weightRatio = r.weightBytes / rows[0].weightBytes;
  r.totalRatio = r.totalBytes / rows[0].totalBytes;
  log(`${r.key}: ppl ${r.perplexity.toFixed(4)} (${(100 * r.perplexityChange).toFixed(2)}%)`);
}

// ---- generation speed per backend ----------------------------------------------------------------
const timedKeys = ['fp32', 'int8', 'int4-pc', 'int4-g32', 'nf4', 'qat-int4-pc'];
const timed = timedKeys.map((k) => rows.find((r) => r.key === k));
const prompts = ['ROMEO:', 'First Citizen:\n', 'KING HENRY VI:'].map((p) => tokenizer.encode(p));
const speed = {};
for (const b of backends) {
  const w = await tryBackend(b);
  if (w) {
    speed[b] = { unavailable: w };
    log(`${b}: unavailable (${w})`);
    continue;
  }
  for (const r of timed) await generate(r.model, prompts[0], { maxNewTokens: 8, greedy: true }); // warm-up: kernels, weight caches, tensors moved to this backend
  const rates = timed.map(() => []);
  for (let round = 0; round < rounds; round++) {
    // Each round starts at a different model, so no model always runs right after the same one.
    for (let j = 0; j < timed.length; j++) {
      const i = (j + round) % timed.length;
      let tokens = 0;
      const s = performance.now();
      for (const p of prompts) tokens += (await generate(timed[i].model, p, { maxNewTokens: Math.min(genTokens, T - p.length), greedy: true })).ids.length;
      rates[i].push(tokens / ((performance.now() - s) / 1000));
    }
  }
  speed[b] = {};
  timed.forEach((r, i) => {
    const x = rates[i].sort((a, c) => a - c);
    speed[b][r.key] = { best: x.at(-1), median: x[Math.floor(x.length / 2)] };
  });
  for (const r of timed) {
    speed[b][r.key].bestVsFp32 = speed[b][r.key].best / speed[b].fp32.best;
    speed[b][r.key].medianVsFp32 = speed[b][r.key].median / speed[b].fp32.median;
  }
  log(`${b}: ${timed.map((r) => `${r.key} ${speed[b][r.key].median.toFixed(1)}`).join(', ')} tok/s (median)`);
}

// ---- report ----------------------------------------------------------------------------------------
const get = (k) => rows.find((r) => r.key === k);
const ptqBest = Math.min(get('ft-int4-pc-qatq').perplexity, get('ft-int4-pc').perplexity);
const result = {
  ckpt, trainedHere, config: { nLayer: base.config.nLayer, nHead: base.config.nHead, nEmbd: base.config.nEmbd, context: T, vocab: base.config.vocabSize },
  valTokensScored: useWin * T, valWindows: useWin, valWindowsInSplit: nWin, trainBackend, evalBackend: evalOn,
  fineTune: { steps: qatSteps, batch, lr: qatLr, schedule: 'linear warmup min(20, steps/5), cosine to 0.1·lr', fp32Seconds: +ftSeconds.toFixed(1), qatSeconds: +qatSeconds.toFixed(1), fp32LastLoss: ftFp32Loss, qatLastLoss: qatLoss, qatFakeQuantPerplexity: qatFakePpl },
  rows: rows.map(({ model, ...r }) => r),
  generation: { backends: speed, prompts: prompts.length, maxNewTokens: genTokens, rounds },
  targets: {
    int8: { weightRatio: get('int8').projWeightRatio, perplexityChange: get('int8').perplexityChange, met: get('int8').projWeightRatio <= 0.27 && Math.abs(get('int8').perplexityChange) <= 0.02 },
    nf4: { weightRatio: get('nf4').projWeightRatio, perplexityChange: get('nf4').perplexityChange, met: get('nf4').projWeightRatio <= 0.14 && Math.abs(get('nf4').perplexityChange) <= 0.1 },
    qatBeatsPtq: { qat: get('qat-int4-pc').perplexity, matchedPtq: ptqBest, met: get('qat-int4-pc').perplexity < ptqBest },
  },
};
console.log(JSON.stringify(result));
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(result, null, 2)}\n`);

const f = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%`;
const sp = (b, k) => (speed[b]?.[k] ? `${f(speed[b][k].median, 1)} (${f(speed[b][k].medianVsFp32, 2)}×)` : '');
const live = backends.filter((b) => !speed[b]?.unavailable);
console.log(`\nGPT ${result.config.nLayer}×${result.config.nEmbd}, context ${T}, val split ${result.valTokensScored} tokens; fine-tuning ${qatSteps} steps × ${batch}×${T} tokens at lr ${qatLr}`);
console.log(`| model | projection bytes | × fp32 | whole model bytes | × fp32 | val ppl | Δ ppl |${live.map((b) => ` ${b} tok/s (× fp32) |`).join('')}`);
console.log(`|---|---|---|---|---|---|---|${live.map(() => '---|').join('')}`);
for (const r of rows) {
  console.log(`| ${r.label} | ${r.projWeightBytes} | ${f(r.projWeightRatio, 4)} | ${r.totalBytes} | ${f(r.totalRatio, 4)} | ${f(r.perplexity, 4)} | ${pct(r.perplexityChange)} |${live.map((b) => ` ${sp(b, r.key)} |`).join('')}`);
}
const tg = result.targets;
console.log(`\nint8 ≤ 0.27× and |Δppl| ≤ 2%: ${tg.int8.met ? 'met' : 'MISSED'} (${f(tg.int8.weightRatio, 4)}×, ${pct(tg.int8.perplexityChange)})`);
console.log(`NF4+DQ ≤ 0.14× and |Δppl| ≤ 10%: ${tg.nf4.met ? 'met' : 'MISSED'} (${f(tg.nf4.weightRatio, 4)}×, ${pct(tg.nf4.perplexityChange)})`);
console.log(`4-bit QAT beats matched 4-bit PTQ: ${tg.qatBeatsPtq.met ? 'yes' : 'NO'} (QAT ppl ${f(tg.qatBeatsPtq.qat, 4)} vs fine-tune→PTQ ${f(ptqBest, 4)}; fake-quant ppl before conversion ${f(qatFakePpl, 4)})`);
for (const r of rows) if (r.model !== base) r.model.dispose();
base.dispose();
