// Trains a small T5 (text-to-text, task prefixes "copy: ", "reverse: ", "sort: ") on random digit
// strings and prints held-out exact match per task, training time and tokens/s as one JSON line.
//
//   node packages/transformer/bench/seq2seq-toy.mjs [--steps 1500] [--backend wasm|cpu|native] [--min 2] [--max 5]
import { getBackendPlugins, registerBackendPlugin, useBackend, tf } from '@nutshell/core';
import { Seq2seqVocab, T5, encodePairs, exactMatch, toyTaskData, trainSeq2seq, TOY_TASKS } from '@nutshell/transformer';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const steps = Number(arg('steps', 1500));
const backend = arg('backend', 'wasm');
const minLength = Number(arg('min', 2));
const maxLength = Number(arg('max', 5));
const batchSize = Number(arg('batch', 64));
const dModel = Number(arg('d', 64));
const lr = Number(arg('lr', 3e-3));

async function setBackend(name) {
  if (name === 'wasm') await import('@nutshell/backend-wasm');
  if (name === 'native') {
    const mod = await import('@nutshell/backend-native');
    if (!getBackendPlugins().some((p) => p.name === 'native')) registerBackendPlugin(mod.default);
  }
  if (name !== 'cpu') await useBackend(name);
  else await tf.setBackend('cpu');
}
await setBackend(backend);

const vocab = Seq2seqVocab.fromText(`0123456789: ${TOY_TASKS.join('')}`, 4);
const trainText = toyTaskData({ n: 6000, minLength, maxLength, seed: 'train' });
const seen = new Set(trainText.map((p) => p.source.split(': ')[1]));
// Held-out strings (never seen in training, for any task) where the length range allows it.
const testText = toyTaskData({ n: 600, minLength: Math.max(minLength, 4), maxLength, seed: 'test', exclude: seen });
const config = { vocabSize: vocab.vocabSize, dModel, numHeads: 4, dFf: 2 * dModel, numLayers: 2, relativeAttentionNumBuckets: 16, relativeAttentionMaxDistance: 32 };
const r = await trainSeq2seq({ train: encodePairs(vocab, trainText), config, steps, batchSize, lr, seed: 1, progress: argv.includes('--progress') });
const em = await exactMatch(r.model, encodePairs(vocab, testText), { batchSize: 200 });
console.log(JSON.stringify({
  bench: 'seq2seq-toy', backend: tf.getBackend(), steps, batchSize, config, minLength, maxLength,
  params: r.model.numParameters(), trainSeconds: Math.round(r.seconds), targetTokensPerSecond: Math.round(r.tokensPerSecond),
  finalLoss: r.history.steps.at(-1)?.loss, heldOut: em.n, exactMatch: em.accuracy, byTask: em.byTask,
}));
r.model.dispose();
