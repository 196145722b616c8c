// Recipe search for the demo's WordNet GPT: each candidate trains for the same wall-clock budget on
// one backend, with its cosine schedule sized from a short speed probe, and reports validation loss
// as the per-character loss of 100 validation lines and of the 64 held-out-word lines, each scored from
// its start. Not part of the tests. A candidate with `bpe: N` trains on a byte-level BPE of N ids
// (trained on the glosses); its losses are converted to nats per character (total NLL / characters)
// so they compare with the character model's. --rounds R runs the candidates R times, alternating,
// since the machine's load drifts.
//   node apps/cli/bench/gloss-recipe.mjs --backend native --seconds 60 --only small,bpe2k --rounds 2
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { activateBackend } from '../dist/backends.js';
import { loadGlossData } from '../dist/demo/gloss-data.js';
import { trainGlossGpt } from '../dist/demo/gpt-stage.js';
import { measureGptStep } from '../dist/demo/gpt-probe.js';
import { defineWords, linePerplexity, scoreDefinitions } from '../dist/demo/text-eval.js';

const { values: a } = parseArgs({ options: { backend: { type: 'string', default: 'native' }, seconds: { type: 'string', default: '60' }, only: { type: 'string' }, probe: { type: 'boolean', default: false }, sampling: { type: 'boolean', default: false }, samplings: { type: 'string' }, words: { type: 'string', default: '40' }, rounds: { type: 'string', default: '1' } } });
const CANDIDATES = {
  // the demo's recipe before this round (constant-ish lr: the schedule spanned 3000 steps)
  old: { nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 24, lr: 3e-3, fixedSteps: 3000 },
  small: { nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 24, lr: 3e-3 },
  wide: { nLayer: 2, nEmbd: 128, nPositions: 64, batchSize: 16, lr: 2e-3 },
  deep: { nLayer: 4, nEmbd: 96, nPositions: 64, batchSize: 16, lr: 2e-3 },
  nano: { nLayer: 4, nEmbd: 128, nPositions: 64, batchSize: 12, lr: 1e-3 },
  wide96: { nLayer: 3, nEmbd: 96, nPositions: 96, batchSize: 16, lr: 2e-3 },
  wideB32: { nLayer: 2, nEmbd: 128, nPositions: 64, batchSize: 32, lr: 3e-3 },
  smallB64: { nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 64, lr: 3e-3 },
  smallB64hi: { nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 64, lr: 6e-3 },
  wideB64: { nLayer: 2, nEmbd: 128, nPositions: 64, batchSize: 64, lr: 3e-3 },
  wide96B48: { nLayer: 2, nEmbd: 128, nPositions: 96, batchSize: 48, lr: 3e-3 },
  deepB48: { nLayer: 3, nEmbd: 128, nPositions: 64, batchSize: 48, lr: 2e-3 },
  // byte-level BPE (context 64 tokens ≈ 190 characters: a whole "word: gloss" line)
  bpe1k: { bpe: 1000, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 24, lr: 3e-3 },
  bpe2k: { bpe: 2000, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 24, lr: 3e-3 },
  bpe4k: { bpe: 4000, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 24, lr: 3e-3 },
  bpe2kWide: { bpe: 2000, nLayer: 2, nEmbd: 128, nPositions: 64, batchSize: 16, lr: 2e-3 },
  bpe2kDeep: { bpe: 2000, nLayer: 3, nEmbd: 96, nPositions: 48, batchSize: 24, lr: 2e-3 },
  bpe2kB48: { bpe: 2000, nLayer: 2, nEmbd: 64, nPositions: 48, batchSize: 48, lr: 4e-3 },
  // the step cost grows with the vocabulary (embedding one-hot, head, softmax): smaller batches buy steps
  bpe1kB8: { bpe: 1000, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 8, lr: 3e-3 },
  bpe2kB8: { bpe: 2000, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 8, lr: 3e-3 },
  bpe2kB8hi: { bpe: 2000, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 8, lr: 6e-3 },
  bpe2kB12T48: { bpe: 2000, nLayer: 2, nEmbd: 64, nPositions: 48, batchSize: 12, lr: 4e-3 },
};
const SAMPLINGS = {
  'greedy': { greedy: true },
  't0.7-topk12 (before)': { temperature: 0.7, topK: 12 },
  't0.5-topp0.9': { temperature: 0.5, topP: 0.9 },
  't0.3': { temperature: 0.3 },
  't0.5-topp0.9-rep1.2': { temperature: 0.5, topP: 0.9, repetitionPenalty: 1.2 },
  't0.3-rep1.3': { temperature: 0.3, repetitionPenalty: 1.3 },
  't0.6-topk40-rep1.3': { temperature: 0.6, topK: 40, repetitionPenalty: 1.3 },
  't0.8-topk40-rep1.3': { temperature: 0.8, topK: 40, repetitionPenalty: 1.3 },
};
const names = a.only ? a.only.split(',') : Object.keys(CANDIDATES);
const seconds = Number(a.seconds);
await activateBackend(a.backend);
const datasets = new Map();
async function dataFor(bpe) {
  const key = bpe ?? 'char';
  if (!datasets.has(key)) {
    const t = Date.now();
    const d = await loadGlossData({ seed: 0, domain: 'noun.food', maxTrainLines: 40000, heldOutWords: Number(a.words), heldOutLines: 64, domainEvalLines: 32, tokenizer: bpe ? { bpeVocab: bpe } : 'char' });
    console.error(`data + tokenizer ${key}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    datasets.set(key, d);
  }
  return datasets.get(key);
}
const order = Array.from({ length: Number(a.rounds) }, (_, r) => (r % 2 ? [...names].reverse() : names)).flat();
for (const name of order) {
  const { bpe, ...c } = CANDIDATES[name];
  const data = await dataFor(bpe);
  const valLines = data.valText.split('\n').filter(Boolean).slice(0, 100);
  const load0 = loadavg()[0];
  const stepSeconds = await measureGptStep(data, { seed: 0, ...c });
  if (a.probe) {
    console.log(JSON.stringify({ name, backend: a.backend, ...c, stepSeconds: Number(stepSeconds.toFixed(3)), tokensPerSecond: Math.round((c.batchSize * c.nPositions) / stepSeconds), load: Number(loadavg()[0].toFixed(1)) }));
    continue;
  }
  // The schedule spans the steps the budget should allow (a little under, so it gets to decay).
  const maxSteps = c.fixedSteps ?? Math.max(10, Math.floor((0.95 * seconds) / stepSeconds));
  const r = await trainGlossGpt(data, { seed: 0, seconds, maxSteps, ...c });
  // Per-character loss of whole lines (scored from the line start, as generation sees them).
  const val = await linePerplexity(r.model, data.tokenizer, valLines);
  const held = await linePerplexity(r.model, data.tokenizer, data.heldOutLines);
  const lineLoss = val.charNll;
  const heldLoss = held.charNll;
  console.log(JSON.stringify({ name, backend: a.backend, seconds, ...c, stepSeconds: Number(stepSeconds.toFixed(3)), plannedSteps: maxSteps, steps: r.steps, tokensPerSecond: Math.round(r.tokensPerSecond), parameters: r.parameters, bpe: bpe ?? null, valLossPerToken: Number(r.valLoss.toFixed(4)), charsPerToken: Number((val.chars / val.tokens).toFixed(2)), valLineLoss: Number(lineLoss.toFixed(4)), heldOutLineLoss: Number(heldLoss.toFixed(4)), load: [load0, loadavg()[0]].map((l) => Number(l.toFixed(1))) }));
  if (a.sampling) {
    // BLEU/ROUGE of the definitions of the held-out words under a few sampling settings.
    for (const [label, sampling] of Object.entries(SAMPLINGS).filter(([l]) => !a.samplings || a.samplings.split(',').includes(l))) {
      const defs = await defineWords(r.model, data.tokenizer, data.heldOut, { seed: 0, maxNewTokens: bpe ? 48 : 80, label: 'generate', sampling });
      const sc = scoreDefinitions(defs);
      console.log(JSON.stringify({ name, sampling: label, words: defs.length, bleu: Number(sc.bleu.toFixed(2)), rouge1: Number(sc.rouge1.toFixed(4)), rougeL: Number(sc.rougeL.toFixed(4)), meanLength: Math.round(defs.reduce((t, d) => t + d.generated.length, 0) / defs.length), sample: defs.slice(0, 4).map((d) => `${d.word}: ${d.generated}`) }));
    }
  }
  r.model.dispose();
}
