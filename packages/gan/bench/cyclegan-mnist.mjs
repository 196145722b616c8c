// CycleGAN on MNIST (Zhu et al. 2017), unpaired: domain A = digits, domain B = inverted digits
// (--transform invert, default) or edge maps (--transform edges: 3×3 morphological gradient of the
// binarised digit, as bench/pix2pix-mnist.mjs) of a DISJOINT half of the training digits, so no
// digit is ever seen in both forms. Two U-Net generators (A→B, B→A), two
// PatchGAN discriminators, LSGAN loss, cycle λ = 10, identity 0.5·λ, image pools of 50 fakes, Adam
// β1 = 0.5, within a wall-time budget. On held-out test digits x (pairs (x, T(x)) the model never
// saw): PSNR of gAB(x) vs the true transform T(x) and of gBA(T(x)) vs x, cycle reconstruction PSNR of
// gBA(gAB(x)) vs x and gAB(gBA(T(x))) vs T(x), and how often @nutshell/metrics' MNIST classifier reads
// gBA(T(x)) as x's digit (the class survives translation). Writes a PNG grid.
//   NUTSHELL_NATIVE_THREADS=1 node packages/gan/bench/cyclegan-mnist.mjs [--minutes 5] [--transform invert|edges] [--backend native] [--out /tmp/gan-bench/cyclegan]
import { tf } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { mnistFeatureExtractor, psnr } from '@nutshell/metrics';
import { Adam, DataLoader } from '@nutshell/nn';
import { CycleGan, PatchGANDiscriminator, UNetGenerator, writeImageGrid } from '@nutshell/gan';
import { paramCount, parseArgs, selectBackend, shuffledIndices, subset } from './common.mjs';

const args = parseArgs();
const minutes = Number(args.minutes ?? 5);
const batchSize = Number(args.batch ?? 16);
const lr = Number(args.lr ?? 2e-4);
const base = Number(args.base ?? 16);
const nEval = Number(args.eval ?? 1000);
const transform = args.transform ?? 'invert';
const outDir = args.out ?? '/tmp/gan-bench/cyclegan';
await selectBackend(args.backend ?? 'native');

/** The B-domain transform of digits in [−1, 1]. */
function T(x) {
  return tf.tidy(() => {
    if (transform === 'invert') return tf.neg(x);
    if (transform !== 'edges') throw new Error(`--transform must be edges or invert, got ${transform}`);
    const b = tf.cast(tf.greater(x, 0), 'float32');
    const dil = tf.maxPool(b, 3, 1, 'same');
    const ero = tf.neg(tf.maxPool(tf.neg(b), 3, 1, 'same'));
    return tf.sub(tf.mul(tf.sub(dil, ero), 2), 1);
  });
}

const mnist = await loadMnist({ range: [-1, 1], seed: 0 });
// Disjoint halves of the training digits: A gets one half as digits, B the other half transformed.
const order = shuffledIndices(mnist.train.length, 'cyclegan-split');
const half = Math.floor(order.length / 2);
const take = (idx) => {
  const x = new Float32Array(idx.length * 784);
  idx.forEach((k, i) => x.set(mnist.train.x.subarray(k * 784, (k + 1) * 784), i * 784));
  return tf.tensor(x, [idx.length, 28, 28, 1]);
};
const xA = take(order.slice(0, half));
const xB = tf.tidy(() => T(take(order.slice(half, 2 * half))));
const held = subset(mnist.test, nEval, 'held-out');
const xTest = tf.tensor(held.x, [held.length, 28, 28, 1]);
const tTest = T(xTest);

const gAB = new UNetGenerator({ base, depth: 2, seed: 1 });
const gBA = new UNetGenerator({ base, depth: 2, seed: 2 });
const dA = new PatchGANDiscriminator({ inChannels: 1, base, layers: 2, seed: 3 });
const dB = new PatchGANDiscriminator({ inChannels: 1, base, layers: 2, seed: 4 });
const cg = new CycleGan({
  gAB, gBA, dA, dB, loss: 'lsgan', lambdaCycle: 10, lambdaIdentity: 0.5, poolSize: 50, seed: 0,
  optimizerG: new Adam([...gAB.parameters(), ...gBA.parameters()], { lr, betas: [0.5, 0.999] }),
  optimizerD: new Adam([...dA.parameters(), ...dB.parameters()], { lr, betas: [0.5, 0.999] }),
});
const loaderA = new DataLoader(xA, { batchSize, shuffle: true, seed: 1 });
const loaderB = new DataLoader(xB, { batchSize, shuffle: true, seed: 2 });

const t0 = Date.now();
const history = [];
outer: for (let epoch = 0; ; epoch++) {
  const itB = loaderB.batches(epoch);
  for (const a of loaderA.batches(epoch)) {
    const nb = itB.next();
    if (nb.done || Date.now() - t0 > minutes * 60_000) { a.dispose(); nb.value?.dispose(); break outer; }
    const b = nb.value;
    const l = cg.trainStep(a, b);
    history.push(l);
    if (l.step % 50 === 0) console.error(`step ${l.step} (${((Date.now() - t0) / 1000).toFixed(0)} s): G ${l.g.toFixed(3)} (adv ${l.gAB.toFixed(3)}/${l.gBA.toFixed(3)}, cycle ${l.cycleA.toFixed(3)}/${l.cycleB.toFixed(3)}, idt ${l.identityA.toFixed(3)}/${l.identityB.toFixed(3)}), D ${l.dA.toFixed(3)}/${l.dB.toFixed(3)}`);
    tf.dispose([a, b]);
  }
}
const seconds = (Date.now() - t0) / 1000;
const steps = cg.step;

const flat = (t) => ({ shape: [t.shape[0] * 28, 28], data: t.dataSync() });
const P = (ref, out) => +psnr(flat(ref), flat(out), { dataRange: 2 }).toFixed(2);
const fakeB = tf.tidy(() => gAB.forward(xTest));
const recA = tf.tidy(() => gBA.forward(fakeB));
const fakeA = tf.tidy(() => gBA.forward(tTest));
const recB = tf.tidy(() => gAB.forward(fakeA));
const extractor = await mnistFeatureExtractor({ range: [-1, 1] });
const acc = (t) => +(extractor.predict(t).reduce((s, p, i) => s + (p === held.y[i] ? 1 : 0), 0) / held.length).toFixed(4);
const pick = (t) => tf.slice(t, [0], [8]);
const file = await writeImageGrid(`${outDir}/cyclegan-${transform}.png`, tf.tidy(() => tf.concat([xTest, fakeB, tTest, recA, fakeA, recB].map(pick), 0)), { nrow: 8 });
const result = {
  bench: 'cyclegan-mnist', transform, unpaired: `A: ${half} training digits; B: ${transform} of the other ${half} (disjoint)`, backend: tf.getBackend(),
  model: `2× U-Net G (base ${base}, depth 2; ${paramCount(gAB)} params each), 2× PatchGAN D (base ${base}, 2 stride-2 layers, receptive field ${dA.receptiveField}px; ${paramCount(dA)} params each)`,
  loss: 'LSGAN + 10·cycle + 5·identity, image pools of 50', lr, batchSize, budgetMinutes: minutes, steps, seconds: +seconds.toFixed(1), secondsPerStep: +(seconds / steps).toFixed(3),
  heldOut: held.length,
  psnrAtoB: P(tTest, fakeB), psnrBtoA: P(xTest, fakeA),
  psnrCycleA: P(xTest, recA), psnrCycleB: P(tTest, recB),
  baselineIdentityPsnr: P(xTest, tTest),
  classifierOnBtoA: acc(fakeA), classifierOnCycleA: acc(recA), classifierOnRealDigits: acc(xTest), classifierOnTransformed: acc(tTest),
  lastLosses: history.at(-1),
  grid: file, gridLayout: `rows: x, gAB(x), true ${transform} T(x), gBA(gAB(x)), gBA(T(x)), gAB(gBA(T(x)))`,
};
console.log(JSON.stringify(result, null, 2));
console.log(`\n| steps | s | PSNR gAB(x) vs T(x) | PSNR gBA(T(x)) vs x | cycle PSNR A / B | x vs T(x) (no-op) | classifier on gBA(T(x)) / gBA(gAB(x)) / real / T(x) |`);
console.log('|---|---|---|---|---|---|---|');
console.log(`| ${steps} | ${result.seconds} | ${result.psnrAtoB} dB | ${result.psnrBtoA} dB | ${result.psnrCycleA} / ${result.psnrCycleB} dB | ${result.baselineIdentityPsnr} dB | ${(100 * result.classifierOnBtoA).toFixed(1)}% / ${(100 * result.classifierOnCycleA).toFixed(1)}% / ${(100 * result.classifierOnRealDigits).toFixed(1)}% / ${(100 * result.classifierOnTransformed).toFixed(1)}% |`);
extractor.dispose();
