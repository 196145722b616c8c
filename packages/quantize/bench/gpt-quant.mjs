// GPT quantization benchmark for @nutshell/quantize (not a unit test). Trains a tiny character GPT
// briefly with @nutshell/transformer's trainGpt on WordNet glosses (@nutshell/datasets), then
// quantizes every Conv1D projection (fan-in-fan-out layers) with quantizeModel and reports, for
// fp32 / int8 / NF4 (+ double quant, blocks of 64):
//   - weight bytes of the projections vs fp32 and whole-model bytes (sizeReport);
//   - held-out perplexity per character and its change vs fp32;
//   - greedy generation tokens/s with the KV cache, for the default weight cache (`auto`: the packed
//     weights are dequantized once into a float32 copy while the model is in eval mode) and with the
//     cache off (dequantized in every forward), plus the bytes that cache keeps resident;
//   - that a saveQuantizedModel → loadQuantizedModel round trip gives identical logits.
//   node packages/quantize/bench/gpt-quant.mjs [--backend wasm] [--steps 300] [--lines 4000] [--gen 64] [--prompts 4] [--rounds 5] [--ckpt FILE]
// Prints one JSON object, then a table.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadSafetensors, saveSafetensors, tf, useBackend } from '@nutshell/core';
import { loadWordNet } from '@nutshell/datasets';
import { CharTokenizer, GPT, generate, trainGpt } from '@nutshell/transformer';
import { loadQuantizedModel, quantizeModel, saveQuantizedModel, setWeightCache, sizeReport } from '@nutshell/quantize';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const backend = args.backend ?? 'wasm';
const steps = Number(args.steps ?? 300);
const nLines = Number(args.lines ?? 4000);
const genTokens = Number(args.gen ?? 64);
const nPrompts = Number(args.prompts ?? 4);
const rounds = Number(args.rounds ?? 5);
const ckpt = args.ckpt; // trained weights: loaded when the file exists, else written after training

if (backend !== 'cpu') await useBackend((await import(`@nutshell/backend-${backend}`)).default);
else await useBackend('cpu');

const wordnet = await loadWordNet();
// Deterministic sample of short "word: gloss" lines; the last 5% are held out.
const all = wordnet.glossLines().filter((l) => l.length <= 120);
const stride = Math.max(1, Math.floor(all.length / nLines));
const lines = all.filter((_, i) => i % stride === 0).slice(0, nLines);
const cut = Math.floor(lines.length * 0.95);
const trainText = lines.slice(0, cut).join('\n') + '\n';
const evalLines = lines.slice(cut);

const t0 = performance.now();
const gptConfig = { nLayer: 2, nHead: 4, nEmbd: 128, nPositions: 64 };
const valText = evalLines.join('\n') + '\n';
let model, tokenizer, valLoss = null;
if (ckpt && existsSync(ckpt)) {
  // Re-measure without retraining: the same char vocabulary (built from the same text) and weights.
  tokenizer = CharTokenizer.fromText(`${trainText}${valText}`);
  model = new GPT({ ...gptConfig, vocabSize: tokenizer.vocabSize }, { seed: 0 });
  const { tensors } = loadSafetensors(new Uint8Array(readFileSync(ckpt)));
  model.loadStateDict(tensors);
  tf.dispose(Object.values(tensors));
} else {
  ({ model, tokenizer, valLoss } = await trainGpt({ trainText, valText, steps, batchSize: 16, lr: 2e-3, warmupSteps: 30, config: gptConfig, seed: 7, progress: false }));
  if (ckpt) writeFileSync(ckpt, saveSafetensors(model.stateDict()));
}
const trainSeconds = (performance.now() - t0) / 1000;
model.eval();

async function perplexity(m) {
  const seqs = evalLines.map((l) => tokenizer.encode(`${l}\n`));
  const scores = await m.scoreTokens(seqs);
  let sum = 0, n = 0;
  for (const s of scores) for (const v of s) { sum -= v; n++; }
  return Math.exp(sum / n);
}

// Generation speed of several models, measured in interleaved rounds (the machine is shared: a
// sequential measurement would compare different load levels).
async function genSpeeds(models, rounds) {
  const prompts = evalLines.slice(0, nPrompts).map((l) => l.slice(0, l.indexOf(':') + 1));
  for (const m of models) await generate(m, prompts[0], { tokenizer, maxNewTokens: 8, greedy: true }); // warm-up (kernels, caches)
  const rates = models.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < models.length; i++) {
      let tokens = 0;
      const s = performance.now();
      for (const p of prompts) tokens += (await generate(models[i], p, { tokenizer, maxNewTokens: genTokens, greedy: true })).ids.length;
      rates[i].push(tokens / ((performance.now() - s) / 1000));
    }
  }
  // Best and median rounds: load from other processes only ever slows a round down, so the best one
  // is the least disturbed estimate; the median shows the spread.
  return rates.map((x) => {
    x.sort((a, b) => a - b);
    return { best: x[x.length - 1], median: x[Math.floor(x.length / 2)] };
  });
}

const clone = () => {
  const c = new GPT(model.config, { seed: 0 });
  c.loadStateDict(model.stateDict());
  c.eval();
  return c;
};

const fpSize = sizeReport(model);
const fpPpl = await perplexity(model);
const rows = [{ scheme: 'fp32', cache: '-', projWeightBytes: fpSize.weightBytes - embBytes(fpSize), totalBytes: fpSize.totalBytes, cacheBytes: 0, residentBytes: fpSize.totalBytes, perplexity: fpPpl }];
const timed = [model];
function embBytes(rep) {
  return rep.layers.filter((l) => l.name === 'transformer.wte' || l.name === 'transformer.wpe' || /wte|wpe/.test(l.name)).reduce((a, l) => a + l.bytes, 0);
}
let roundTripMaxDiff = null;
for (const [scheme, spec] of [['int8', { scheme: 'int8' }], ['nf4', { scheme: 'nf4', groupSize: 64, doubleQuant: true }]]) {
  const q = clone();
  const { replaced } = quantizeModel(q, { default: spec });
  q.eval();
  const rep = sizeReport(q);
  if (scheme === 'nf4') {
    // Save / load through the fan-in-fan-out path and compare logits exactly.
    const fresh = clone();
    loadQuantizedModel(fresh, saveQuantizedModel(q));
    const ids = [tokenizer.encode(evalLines[0]).slice(0, 32)];
    const a = q.forward(ids), b = fresh.forward(ids);
    roundTripMaxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    tf.dispose([a, b]);
    fresh.dispose();
  }
  const ppl = await perplexity(q);
  // The same quantized weights with the cache on (default auto) and off (dequantized every forward).
  const off = clone();
  quantizeModel(off, { default: spec });
  setWeightCache(off, 'off');
  for (const [cache, m] of [['auto', q], ['off', off]]) {
    rows.push({ scheme, cache, layers: replaced.length, projWeightBytes: rep.weightBytes - embBytes(rep), totalBytes: rep.totalBytes, perplexity: ppl });
    timed.push(m);
  }
}
const speeds = await genSpeeds(timed, rounds);
rows.forEach((r, i) => {
  r.tokensPerSecond = speeds[i].best;
  r.medianTokensPerSecond = speeds[i].median;
  const live = sizeReport(timed[i]); // after generation: what the caches keep resident
  r.cacheBytes = live.cacheBytes;
  r.residentBytes = live.residentBytes;
});
for (const m of timed.slice(1)) m.dispose();
for (const r of rows) {
  r.projWeightRatio = r.projWeightBytes / rows[0].projWeightBytes;
  r.totalRatio = r.totalBytes / rows[0].totalBytes;
  r.perplexityChange = r.perplexity / fpPpl - 1;
  r.speedVsFp32 = r.tokensPerSecond / rows[0].tokensPerSecond;
  r.medianSpeedVsFp32 = r.medianTokensPerSecond / rows[0].medianTokensPerSecond;
}
const result = {
  backend: tf.getBackend(), steps, trainLines: cut, evalLines: evalLines.length, trainSeconds: +trainSeconds.toFixed(1),
  valLoss: valLoss === null ? null : +valLoss.toFixed(4), loadedCheckpoint: valLoss === null, config: { nLayer: model.config.nLayer, nEmbd: model.config.nEmbd, vocab: model.config.vocabSize },
  genTokens, prompts: nPrompts, rounds, roundTripMaxDiff, rows,
};
console.log(JSON.stringify(result));
const f = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : String(x ?? ''));
console.log('\nscheme  cache  proj bytes   ratio   stored bytes  ratio  resident bytes   ppl     Δppl   best tok/s  time × fp32  median tok/s  time × fp32');
for (const r of rows) {
  console.log(`${r.scheme.padEnd(6)}  ${r.cache.padEnd(5)}  ${String(r.projWeightBytes).padStart(10)}  ${f(r.projWeightRatio).padStart(6)}  ${String(r.totalBytes).padStart(12)}  ${f(r.totalRatio).padStart(5)}  ${String(r.residentBytes).padStart(14)}  ${f(r.perplexity).padStart(6)}  ${(100 * r.perplexityChange).toFixed(2).padStart(6)}%  ${f(r.tokensPerSecond, 1).padStart(10)}  ${f(1 / r.speedVsFp32, 2).padStart(11)}  ${f(r.medianTokensPerSecond, 1).padStart(12)}  ${f(1 / r.medianSpeedVsFp32, 2).padStart(11)}`);
}
