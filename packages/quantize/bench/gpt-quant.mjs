// GPT quantization benchmark for @nutshell/quantize (not a unit test). Trains a tiny character GPT
// briefly with @nutshell/transformer's trainGpt on WordNet glosses (@nutshell/datasets), then
// quantizes every Conv1D projection (fan-in-fan-out layers) with quantizeModel and reports, for
// fp32 / int8 / NF4 (+ double quant, blocks of 64):
//   - weight bytes of the projections vs fp32 and whole-model bytes (sizeReport);
//   - held-out perplexity per character and its change vs fp32;
//   - greedy generation tokens/s with the KV cache (quantized weights are dequantized in every forward);
//   - that a saveQuantizedModel → loadQuantizedModel round trip gives identical logits.
//   node packages/quantize/bench/gpt-quant.mjs [--backend wasm] [--steps 300] [--lines 4000] [--gen 64] [--prompts 4]
// Prints one JSON object, then a table.
import { tf, useBackend } from '@nutshell/core';
import { loadWordNet } from '@nutshell/datasets';
import { GPT, generate, trainGpt } from '@nutshell/transformer';
import { loadQuantizedModel, quantizeModel, saveQuantizedModel, sizeReport } from '@nutshell/quantize';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const backend = args.backend ?? 'wasm';
const steps = Number(args.steps ?? 300);
const nLines = Number(args.lines ?? 4000);
const genTokens = Number(args.gen ?? 64);
const nPrompts = Number(args.prompts ?? 4);

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
const { model, tokenizer, valLoss } = await trainGpt({
  trainText, valText: evalLines.join('\n') + '\n', steps, batchSize: 16, lr: 2e-3, warmupSteps: 30,
  config: { nLayer: 2, nHead: 4, nEmbd: 128, nPositions: 64 }, seed: 7, progress: false,
});
const trainSeconds = (performance.now() - t0) / 1000;
model.eval();

async function perplexity(m) {
  const seqs = evalLines.map((l) => tokenizer.encode(`${l}\n`));
  const scores = await m.scoreTokens(seqs);
  let sum = 0, n = 0;
  for (const s of scores) for (const v of s) { sum -= v; n++; }
  return Math.exp(sum / n);
}

async function genSpeed(m) {
  const prompts = evalLines.slice(0, nPrompts).map((l) => l.slice(0, l.indexOf(':') + 1));
  await generate(m, prompts[0], { tokenizer, maxNewTokens: 8, greedy: true }); // warm-up (kernels, caches)
  let tokens = 0;
  const s = performance.now();
  for (const p of prompts) tokens += (await generate(m, p, { tokenizer, maxNewTokens: genTokens, greedy: true })).ids.length;
  return tokens / ((performance.now() - s) / 1000);
}

const clone = () => {
  const c = new GPT(model.config, { seed: 0 });
  c.loadStateDict(model.stateDict());
  c.eval();
  return c;
};

const fpSize = sizeReport(model);
const fpPpl = await perplexity(model);
const rows = [{ scheme: 'fp32', projWeightBytes: fpSize.weightBytes - embBytes(fpSize), totalBytes: fpSize.totalBytes, perplexity: fpPpl, tokensPerSecond: await genSpeed(model) }];
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
  rows.push({ scheme, layers: replaced.length, projWeightBytes: rep.weightBytes - embBytes(rep), totalBytes: rep.totalBytes, perplexity: ppl, tokensPerSecond: await genSpeed(q) });
  q.dispose();
}
for (const r of rows) {
  r.projWeightRatio = r.projWeightBytes / rows[0].projWeightBytes;
  r.totalRatio = r.totalBytes / rows[0].totalBytes;
  r.perplexityChange = r.perplexity / fpPpl - 1;
  r.speedVsFp32 = r.tokensPerSecond / rows[0].tokensPerSecond;
}
const result = {
  backend: tf.getBackend(), steps, trainLines: cut, evalLines: evalLines.length, trainSeconds: +trainSeconds.toFixed(1),
  valLoss: +valLoss.toFixed(4), config: { nLayer: model.config.nLayer, nEmbd: model.config.nEmbd, vocab: model.config.vocabSize },
  genTokens, prompts: nPrompts, roundTripMaxDiff, rows,
};
console.log(JSON.stringify(result));
const f = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : String(x ?? ''));
console.log('\nscheme  proj bytes   ratio   model bytes  ratio   ppl     Δppl     tok/s   vs fp32');
for (const r of rows) {
  console.log(`${r.scheme.padEnd(6)}  ${String(r.projWeightBytes).padStart(10)}  ${f(r.projWeightRatio).padStart(6)}  ${String(r.totalBytes).padStart(11)}  ${f(r.totalRatio).padStart(6)}  ${f(r.perplexity).padStart(6)}  ${(100 * r.perplexityChange).toFixed(2).padStart(6)}%  ${f(r.tokensPerSecond, 1).padStart(6)}  ${f(r.speedVsFp32, 2)}`);
}
