// pix2pix on MNIST (Isola et al. 2017): edge map → digit. Edges are the morphological gradient
// (3×3 dilation minus erosion) of the binarised digit, so the input holds only outlines. U-Net G
// (skip connections) against a PatchGAN D on (condition, image) pairs, non-saturating loss +
// L1 with λ = 100, Adam 2e-4 β1 = 0.5 as the paper. Trains on the 8,000 training digits within a
// wall-time budget and reports, on 1,000 held-out digits: L1 and PSNR of G(edges) vs the real digit,
// the same for a trivial baseline (the edge map itself), and how often @nutshell/metrics' MNIST
// classifier reads G's output as the right digit (vs the real digits). Writes a PNG grid: rows of
// 8 edge maps, G's outputs, real digits.
//   NUTSHELL_NATIVE_THREADS=1 node packages/gan/bench/pix2pix-mnist.mjs [--minutes 5] [--backend native] [--out /tmp/gan-bench/pix2pix]
import { Rng, tf } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { mnistFeatureExtractor, psnr } from '@nutshell/metrics';
import { Adam, DataLoader, disposeGrads, valueAndGrads } from '@nutshell/nn';
import { PatchGANDiscriminator, UNetGenerator, discriminatorLoss, pix2pixGeneratorLoss, writeImageGrid } from '@nutshell/gan';
import { paramCount, parseArgs, selectBackend, subset } from './common.mjs';

const args = parseArgs();
const minutes = Number(args.minutes ?? 5);
const batchSize = Number(args.batch ?? 32);
const lambda = Number(args.lambda ?? 100);
const nEval = Number(args.eval ?? 1000);
const outDir = args.out ?? '/tmp/gan-bench/pix2pix';
await selectBackend(args.backend ?? 'native');

/** Outline of the digit in [−1, 1]: dilate(b) − erode(b) of b = [x > 0], 3×3. */
function edges(x) {
  return tf.tidy(() => {
    const b = tf.cast(tf.greater(x, 0), 'float32');
    const dil = tf.maxPool(b, 3, 1, 'same');
    const ero = tf.neg(tf.maxPool(tf.neg(b), 3, 1, 'same'));
    return tf.sub(tf.mul(tf.sub(dil, ero), 2), 1);
  });
}

const mnist = await loadMnist({ range: [-1, 1], seed: 0 });
const xTrain = tf.tensor(mnist.train.x, [mnist.train.length, 28, 28, 1]);
const held = subset(mnist.test, nEval, 'held-out');
const xTest = tf.tensor(held.x, [held.length, 28, 28, 1]);
const eTest = edges(xTest);

const G = new UNetGenerator({ inChannels: 1, outChannels: 1, base: 32, depth: 2, seed: 1 });
const D = new PatchGANDiscriminator({ inChannels: 2, base: 32, layers: 2, seed: 2 });
const optG = new Adam(G, { lr: 2e-4, betas: [0.5, 0.999] });
const optD = new Adam(D, { lr: 2e-4, betas: [0.5, 0.999] });
const loader = new DataLoader(xTrain, { batchSize, shuffle: true, seed: 1 });
const history = [];
const t0 = Date.now();
let step = 0;
outer: for (let epoch = 0; ; epoch++) {
  for (const x of loader.batches(epoch)) {
    if (Date.now() - t0 > minutes * 60_000) { x.dispose(); break outer; }
    const e = edges(x);
    const fake = tf.tidy(() => G.forward(e));
    // D sees (condition, image) pairs.
    const d = valueAndGrads(() => discriminatorLoss('non-saturating', D.forward(tf.concat([e, x], 3)), D.forward(tf.concat([e, fake], 3))), D);
    optD.step(d.grads);
    disposeGrads(d.grads);
    const g = valueAndGrads(() => {
      const y = G.forward(e);
      return pix2pixGeneratorLoss(D.forward(tf.concat([e, y], 3)), y, x, { lambda });
    }, G);
    optG.step(g.grads);
    disposeGrads(g.grads);
    step++;
    const l1 = tf.tidy(() => tf.mean(tf.abs(tf.sub(fake, x))).dataSync()[0]);
    history.push({ step, dLoss: d.value.dataSync()[0], gLoss: g.value.dataSync()[0], l1 });
    if (step % 50 === 0) console.error(`step ${step} (${((Date.now() - t0) / 1000).toFixed(0)} s): D ${history.at(-1).dLoss.toFixed(3)}, G ${history.at(-1).gLoss.toFixed(3)}, L1 ${l1.toFixed(4)}`);
    tf.dispose([d.value, g.value, e, fake, x]);
  }
}
const seconds = (Date.now() - t0) / 1000;

G.eval();
const out = tf.tidy(() => G.forward(eTest));
const flat = (t) => ({ shape: [t.shape[0] * 28, 28], data: t.dataSync() });
const l1 = (a, b) => tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))).dataSync()[0]);
const extractor = await mnistFeatureExtractor({ range: [-1, 1] });
const acc = (t) => extractor.predict(t).reduce((s, p, i) => s + (p === held.y[i] ? 1 : 0), 0) / held.length;
const file = await writeImageGrid(`${outDir}/edges-to-digits.png`, tf.tidy(() => tf.concat([tf.slice(eTest, [0], [8]), tf.slice(out, [0], [8]), tf.slice(xTest, [0], [8])], 0)), { nrow: 8 });
const result = {
  bench: 'pix2pix-mnist', task: 'edge map (3×3 morphological gradient of the binarised digit) → digit', backend: tf.getBackend(),
  model: `U-Net G (base 32, depth 2; ${paramCount(G)} params), PatchGAN D (base 32, 2 stride-2 layers, receptive field ${D.receptiveField}px; ${paramCount(D)} params)`,
  loss: `non-saturating + ${lambda}·L1`, batchSize, budgetMinutes: minutes, steps: step, seconds: +seconds.toFixed(1), secondsPerStep: +(seconds / step).toFixed(3),
  heldOut: held.length,
  l1: +l1(out, xTest).toFixed(4), psnr: +psnr(flat(xTest), flat(out), { dataRange: 2 }).toFixed(2),
  baselineEdgesL1: +l1(eTest, xTest).toFixed(4), baselineEdgesPsnr: +psnr(flat(xTest), flat(eTest), { dataRange: 2 }).toFixed(2),
  classifierAccuracyOnOutputs: +acc(out).toFixed(4), classifierAccuracyOnRealDigits: +acc(xTest).toFixed(4), classifierAccuracyOnEdges: +acc(eTest).toFixed(4),
  grid: file, gridLayout: 'row 1: edge maps, row 2: G(edges), row 3: real digits',
};
console.log(JSON.stringify(result, null, 2));
console.log('\n| steps | s | L1 (G) | PSNR (G) | L1 / PSNR (edges as output) | classifier acc. on G / real / edges |');
console.log('|---|---|---|---|---|---|');
console.log(`| ${result.steps} | ${result.seconds} | ${result.l1} | ${result.psnr} dB | ${result.baselineEdgesL1} / ${result.baselineEdgesPsnr} dB | ${(100 * result.classifierAccuracyOnOutputs).toFixed(1)}% / ${(100 * result.classifierAccuracyOnRealDigits).toFixed(1)}% / ${(100 * result.classifierAccuracyOnEdges).toFixed(1)}% |`);
extractor.dispose();
