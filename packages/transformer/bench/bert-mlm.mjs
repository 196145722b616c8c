// Pretrains a tiny BERT (masked LM, 15% · 80/10/10) on WordNet glosses and prints, as JSON then a
// line of text: masked-token accuracy and loss on held-out glosses (fixed seeded masks) beside two
// baselines (always the most frequent training token; the untrained model), training tokens/s
// and the WordPiece vocabulary trained on the glosses.
//
//   node packages/transformer/bench/bert-mlm.mjs [--steps 500] [--backend wasm] [--glosses 20000]
//        [--vocab 1000] [--hidden 64] [--layers 2] [--heads 2] [--max-length 32] [--batch 32] [--lr 5e-3] [--out DIR]
import { Rng, useBackend } from '@nutshell/core';
import { glossLines, loadWordNet } from '@nutshell/datasets';
import { BertForMaskedLM, evaluateMlm, maskTokens, padBertBatch, trainBertMlm, trainWordPiece } from '@nutshell/transformer';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const steps = Number(arg('steps', 500));
const backend = arg('backend', 'wasm');
const nGlosses = Number(arg('glosses', 20000));
const vocabSize = Number(arg('vocab', 1000));
const hidden = Number(arg('hidden', 64));
const layers = Number(arg('layers', 2));
const heads = Number(arg('heads', 2));
const maxLength = Number(arg('max-length', 32));
const batchSize = Number(arg('batch', 32));
const lr = Number(arg('lr', 5e-3));
const outDir = arg('out', undefined);

if (backend === 'wasm') await import('@nutshell/backend-wasm');
await useBackend(backend);

// A fixed random sample of glosses ("word: definition"); the last 5% are held out.
const wn = await loadWordNet();
const all = glossLines(wn.records);
const order = new Rng('bert-bench/glosses').permutation(all.length);
const lines = order.slice(0, Math.min(nGlosses, all.length)).map((i) => all[i]);
const cut = Math.floor(lines.length * 0.95);
const train = lines.slice(0, cut);
const val = lines.slice(cut);

const t0 = performance.now();
const tokenizer = trainWordPiece({ texts: train, vocabSize });
const tokenizerSeconds = (performance.now() - t0) / 1000;

const config = { hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: heads, intermediateSize: 4 * hidden, maxPositionEmbeddings: maxLength, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 };

// Baselines on the same fixed validation masks trainBertMlm uses (seed "<seed>/val").
const seed = 0;
const encode = (t) => {
  const e = tokenizer.encodeForModel(t);
  return e.ids.length > maxLength ? [...e.ids.slice(0, maxLength - 1), tokenizer.tokenToId('[SEP]')] : e.ids;
};
const specialIds = [...tokenizer.specialTokens.entries()].filter(([t]) => t !== tokenizer.unkToken).map(([, id]) => id);
const maskOpts = { vocabSize: tokenizer.vocabSize, maskTokenId: tokenizer.tokenToId('[MASK]'), specialIds };
const valIds = val.map(encode);
const valMasked = maskTokens(valIds, { ...maskOpts, seed: `${seed}/val` });
const counts = new Map();
for (const t of train) for (const id of encode(t)) if (!specialIds.includes(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
const labels = valMasked.labels.flat().filter((l) => l !== -100);
const unigramAccuracy = labels.filter((l) => l === top).length / labels.length;
const untrained = new BertForMaskedLM({ ...config, vocabSize: tokenizer.vocabSize, padTokenId: tokenizer.tokenToId('[PAD]') }, { seed });
const batches = [];
for (let i = 0; i < valIds.length; i += 64) {
  const b = padBertBatch(valMasked.inputIds.slice(i, i + 64), { padId: tokenizer.tokenToId('[PAD]') });
  const T = b.inputIds.shape[1];
  batches.push({ ...b, labels: valMasked.labels.slice(i, i + 64).map((l) => [...l, ...Array(T - l.length).fill(-100)]) });
}
const before = evaluateMlm(untrained, batches);
untrained.dispose();
batches.forEach((b) => [b.inputIds, b.attentionMask, b.tokenTypeIds].forEach((t) => t.dispose()));

const stamps = [];
const r = await trainBertMlm({
  texts: train, valTexts: val, tokenizer, config, maxLength, steps, batchSize, lr, seed,
  warmupSteps: Math.floor(steps / 10), evalEvery: Math.max(1, Math.floor(steps / 4)), outDir,
  callbacks: [{ onStepEnd: () => void stamps.push(performance.now()) }],
});
const trainTokens = train.map(encode).reduce((n, ids) => n + ids.length, 0);
const meanLen = trainTokens / train.length;
const steady = stamps.length > 2 ? (stamps.length - 2) / ((stamps.at(-1) - stamps[1]) / 1000) : NaN;

const result = {
  bench: 'bert-mlm-wordnet-glosses',
  backend,
  glosses: { train: train.length, val: val.length, meanTokens: +meanLen.toFixed(1) },
  tokenizer: { vocabSize: tokenizer.vocabSize, seconds: +tokenizerSeconds.toFixed(2) },
  model: { ...config, parameters: r.model.numParameters() },
  steps, batchSize, lr,
  valMaskedTokens: r.valMasked,
  valAccuracy: +r.valAccuracy.toFixed(4),
  valLoss: +r.valLoss.toFixed(4),
  baselines: { mostFrequentToken: +unigramAccuracy.toFixed(4), untrainedAccuracy: +before.accuracy.toFixed(4), untrainedLoss: +before.loss.toFixed(4) },
  evals: r.history.evals.map((e) => [e.step, +e.metrics.loss.toFixed(4)]),
  trainSeconds: +r.seconds.toFixed(1),
  stepsPerSecond: +steady.toFixed(2),
  tokensPerSecond: Math.round(steady * batchSize * meanLen),
  files: r.files,
};
console.log(JSON.stringify(result, null, 2));
console.log(`BERT MLM on WordNet glosses (${backend}): masked-token accuracy ${(100 * r.valAccuracy).toFixed(1)}% (most-frequent-token baseline ${(100 * unigramAccuracy).toFixed(1)}%, untrained ${(100 * before.accuracy).toFixed(1)}%), val loss ${r.valLoss.toFixed(3)}, ${result.tokensPerSecond} tokens/s, ${steps} steps in ${r.seconds.toFixed(0)} s`);
r.model.dispose();
