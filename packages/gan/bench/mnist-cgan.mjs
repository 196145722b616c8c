// Conditional DCGAN on MNIST: ConditionalGenerator (label embedding concatenated to z) against a
// ProjectionDiscriminator (Miyato & Koyama 2018), trained on the 8,000 training digits of
// loadMnist() (seed-0 split) within a wall-time budget. Measured with @nutshell/metrics' shipped MNIST
// network (trained independently of this bench; 97.15% held-out accuracy):
//   - class accuracy: 2,000 samples, 200 per requested digit, classified by the network (target ≥ 90%);
//   - FID of those samples vs 2,000 held-out test digits on its 128-d features (mnistFid features).
// Prints JSON, then tables (final and along the way).
//   NUTSHELL_NATIVE_THREADS=1 node packages/gan/bench/mnist-cgan.mjs [--minutes 9] [--batch 32] [--lr 4e-4] [--width 32] [--loss hinge] [--backend native]
import { Rng, tf } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { fid, mnistFeatureExtractor } from '@nutshell/metrics';
import { Adam, DataLoader } from '@nutshell/nn';
import { ConditionalGenerator, GanTrainer, ProjectionDiscriminator, generateMatrix } from '@nutshell/gan';
import { paramCount, parseArgs, selectBackend, subset } from './common.mjs';

const args = parseArgs();
const minutes = Number(args.minutes ?? 9);
const maxSteps = Number(args.steps ?? 100000);
const width = Number(args.width ?? 32);
const latentDim = Number(args.latent ?? 64);
const batchSize = Number(args.batch ?? 32);
const lr = Number(args.lr ?? 4e-4);
const loss = args.loss ?? 'hinge';
const norm = args.norm ?? 'batch';
// EMA is off by default: G has BatchNorm, and averaged weights with the live running statistics
// score far worse than the raw G after a few hundred steps (measured: FID 1149 vs 395 at step 200).
const ema = Number(args.ema ?? 0);
const evalEvery = Number(args['eval-every'] ?? 100);
const nEval = Number(args.eval ?? 2000);
const outDir = args.out ?? '/tmp/gan-bench/cgan';
await selectBackend(args.backend ?? 'native');

const mnist = await loadMnist({ range: [-1, 1], seed: 0 });
const xTrain = tf.tensor(mnist.train.x, [mnist.train.length, 28, 28, 1]);
const yTrain = tf.tensor1d(mnist.train.y, 'int32');
const extractor = await mnistFeatureExtractor({ range: [-1, 1] });
const realFeatures = extractor.features(subset(mnist.test, nEval, 'held-out').x);
const floor = fid(realFeatures, extractor.features(subset(mnist.train, nEval, 'train').x)).value;
const requested = Int32Array.from({ length: nEval }, (_, i) => i % 10);

const G = new ConditionalGenerator(10, { latentDim, width, seed: 1 });
const D = new ProjectionDiscriminator(10, { width, norm, seed: 2 });

/**
 * Samples for the requested labels (200 per digit), with EMA weights when `useEma`; `truncation` < 1
 * scales z (the truncation trick, trading diversity for fidelity; reported separately).
 */
function evaluate(trainer, useEma, seed, truncation = 1) {
  let k = 0;
  const rng = new Rng(seed);
  const zRng = truncation === 1 ? rng : { normalTensor: (shape) => tf.tidy(() => tf.mul(rng.normalTensor(shape), truncation)) };
  const draw = () => generateMatrix(G, nEval, latentDim, zRng, { batchSize: 250, labels: (m) => tf.tensor1d(requested.slice(k, (k += m)), 'int32') });
  const fake = useEma ? trainer.ema.withAveraged(draw) : draw();
  const preds = extractor.predict(fake.data);
  const perClass = Array.from({ length: 10 }, (_, c) => {
    let hit = 0;
    let n = 0;
    for (let i = c; i < nEval; i += 10) { n++; if (preds[i] === c) hit++; }
    return +(hit / n).toFixed(3);
  });
  const accuracy = preds.reduce((s, p, i) => s + (p === requested[i] ? 1 : 0), 0) / nEval;
  return { accuracy, perClass, fid: fid(realFeatures, extractor.features(fake.data)).value };
}

const curve = [];
const trainer = new GanTrainer({
  generator: G, discriminator: D, latentDim, loss, seed: 0, conditional: { numClasses: 10 },
  optimizerG: new Adam(G, { lr, betas: [0.5, 0.999] }), optimizerD: new Adam(D, { lr, betas: [0.5, 0.999] }),
  ema: ema > 0 ? { decay: ema, start: 50 } : false,
  samples: { every: evalEvery, dir: outDir, count: 100, nrow: 10 },
  log: { every: 50, mode: 'json' },
  onStep: (log, t) => {
    if (log.step % evalEvery !== 0) return;
    const e = evaluate(t, false, 'eval');
    const seconds = t.history.reduce((s, h) => s + h.seconds, 0);
    curve.push({ step: log.step, trainSeconds: +seconds.toFixed(1), accuracy: +e.accuracy.toFixed(4), fid: +e.fid.toFixed(2) });
    console.error(`step ${log.step} (${seconds.toFixed(0)} s training): class accuracy ${(100 * e.accuracy).toFixed(1)}%, FID ${e.fid.toFixed(2)}`);
  },
});
const wall0 = Date.now();
await trainer.fit(new DataLoader([xTrain, yTrain], { batchSize, shuffle: true, seed: 1 }), { steps: maxSteps, maxSeconds: minutes * 60 });
const wallSeconds = (Date.now() - wall0) / 1000;
const trainSeconds = trainer.history.reduce((s, h) => s + h.seconds, 0);
const final = evaluate(trainer, false, 'final');
const avg = trainer.ema ? evaluate(trainer, true, 'final') : undefined;
const truncated = evaluate(trainer, false, 'final', 0.5);
const result = {
  bench: 'mnist-cgan', backend: tf.getBackend(), nativeThreads: process.env.NUTSHELL_NATIVE_THREADS ?? 'default',
  model: `ConditionalGenerator (z ${latentDim} + 16-d label embedding, width ${width}; ${paramCount(G)} params), ProjectionDiscriminator (width ${width}, ${norm} norm; ${paramCount(D)} params)`,
  loss, optimizer: `Adam ${lr}, betas (0.5, 0.999) for both`, batchSize, ema,
  budgetMinutes: minutes, steps: trainer.step, epochs: +(trainer.step * batchSize / mnist.train.length).toFixed(2),
  wallSeconds: +wallSeconds.toFixed(1), trainSeconds: +trainSeconds.toFixed(1), secondsPerStep: +(trainSeconds / trainer.step).toFixed(3),
  classAccuracy: +final.accuracy.toFixed(4), classAccuracyPerDigit: final.perClass, fid: +final.fid.toFixed(2),
  truncatedZ: { scale: 0.5, classAccuracy: +truncated.accuracy.toFixed(4), fid: +truncated.fid.toFixed(2) },
  ...(avg ? { classAccuracyEma: +avg.accuracy.toFixed(4), fidEma: +avg.fid.toFixed(2) } : {}), fidRealTrainVsHeldOut: +floor.toFixed(2),
  classifier: `${extractor.name} (@nutshell/metrics, shipped weights, 97.15% on held-out digits)`,
  eval: `${nEval} samples (${nEval / 10} per requested digit) vs ${nEval} held-out test digits`,
  curve, grids: trainer.grids.slice(-1),
};
console.log(JSON.stringify(result, null, 2));
console.log('\n| backend | steps | epochs | wall s | s/step | class accuracy | FID | FID floor (real/real) | z × 0.5: accuracy / FID |');
console.log('|---|---|---|---|---|---|---|---|---|');
console.log(`| ${result.backend} | ${result.steps} | ${result.epochs} | ${result.wallSeconds} | ${result.secondsPerStep} | ${(100 * result.classAccuracy).toFixed(1)}% | ${result.fid} | ${result.fidRealTrainVsHeldOut} | ${(100 * truncated.accuracy).toFixed(1)}% / ${truncated.fid.toFixed(2)} |`);
console.log('\n| step | train s | class accuracy | FID |\n|---|---|---|---|');
for (const c of curve) console.log(`| ${c.step} | ${c.trainSeconds} | ${(100 * c.accuracy).toFixed(1)}% | ${c.fid} |`);
trainer.dispose();
extractor.dispose();
