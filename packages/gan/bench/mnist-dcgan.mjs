// Unconditional DCGAN on MNIST within a wall-time budget. Trains on the 8,000 training digits of
// loadMnist() (seed-0 split, the same digits the metrics package's feature net was trained on) and
// measures FID of generated digits vs the 2,000 held-out test digits on @nutshell/metrics' shipped
// MNIST network (128-d penultimate features; mnistFid). Not Inception: numbers compare only with
// other runs on that network. Also reports MNIST-IS, the class spread of the samples, and the FID of
// real train vs held-out digits (the floor for this sample size). FID is measured along the way
// (every --eval-every steps) so the table shows FID against wall time.
//   NUTSHELL_NATIVE_THREADS=1 node packages/gan/bench/mnist-dcgan.mjs [--minutes 9] [--batch 32] [--lr 4e-4] [--width 32] [--backend native] [--out /tmp/gan-bench/dcgan]
import { Rng, tf } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { fid, mnistFeatureExtractor, mnistIs } from '@nutshell/metrics';
import { Adam, DataLoader } from '@nutshell/nn';
import { DCGANDiscriminator, DCGANGenerator, GanTrainer, generateMatrix } from '@nutshell/gan';
import { paramCount, parseArgs, selectBackend, subset } from './common.mjs';

const args = parseArgs();
const minutes = Number(args.minutes ?? 9);
const maxSteps = Number(args.steps ?? 100000);
const width = Number(args.width ?? 32);
const latentDim = Number(args.latent ?? 64);
const batchSize = Number(args.batch ?? 32);
const lr = Number(args.lr ?? 4e-4);
// EMA is off by default: G has BatchNorm, and averaged weights with the live running statistics
// score far worse than the raw G after a few hundred steps (measured: FID 1149 vs 395 at step 200).
const ema = Number(args.ema ?? 0);
const evalEvery = Number(args['eval-every'] ?? 200);
const nEval = Number(args.eval ?? 2000);
const backend = args.backend ?? 'native';
const outDir = args.out ?? '/tmp/gan-bench/dcgan';

await selectBackend(backend);
const mnist = await loadMnist({ range: [-1, 1], seed: 0 });
const xTrain = tf.tensor(mnist.train.x, [mnist.train.length, 28, 28, 1]);
const extractor = await mnistFeatureExtractor({ range: [-1, 1] });
const realFeatures = extractor.features(subset(mnist.test, nEval, 'held-out').x);
const floor = fid(realFeatures, extractor.features(subset(mnist.train, nEval, 'train').x)).value;

const G = new DCGANGenerator({ latentDim, width, seed: 1 });
const D = new DCGANDiscriminator({ width, seed: 2 });
const curve = [];
const draw = (seed) => generateMatrix(G, nEval, latentDim, new Rng(seed), { batchSize: 250 });
/** FID of the trained G and, with EMA on, of the averaged weights. */
function fids(t, seed) {
  const raw = fid(realFeatures, extractor.features(draw(seed).data)).value;
  const avg = t.ema ? fid(realFeatures, extractor.features(t.ema.withAveraged(() => draw(seed)).data)).value : undefined;
  return { raw, avg };
}
const trainer = new GanTrainer({
  generator: G, discriminator: D, latentDim, loss: 'non-saturating', seed: 0,
  // DCGAN's Adam β1 = 0.5; lr 4e-4 and batch 32 (DCGAN: 2e-4, 128) buy more steps in the budget.
  optimizerG: new Adam(G, { lr, betas: [0.5, 0.999] }), optimizerD: new Adam(D, { lr, betas: [0.5, 0.999] }),
  ema: ema > 0 ? { decay: ema, start: 50 } : false,
  samples: { every: evalEvery, dir: outDir },
  log: { every: 50, mode: 'json' },
  onStep: (log, t) => {
    if (log.step % evalEvery !== 0) return;
    const { raw, avg } = fids(t, 'eval');
    const seconds = t.history.reduce((s, h) => s + h.seconds, 0);
    curve.push({ step: log.step, trainSeconds: +seconds.toFixed(1), fid: +raw.toFixed(2), ...(avg !== undefined ? { fidEma: +avg.toFixed(2) } : {}) });
    console.error(`step ${log.step} (${seconds.toFixed(0)} s training): FID ${raw.toFixed(2)}${avg !== undefined ? `, EMA ${avg.toFixed(2)}` : ''}`);
  },
});
const wall0 = Date.now();
await trainer.fit(new DataLoader(xTrain, { batchSize, shuffle: true, seed: 1 }), { steps: maxSteps, maxSeconds: minutes * 60 });
const wallSeconds = (Date.now() - wall0) / 1000;
const trainSeconds = trainer.history.reduce((s, h) => s + h.seconds, 0);

const fake = draw('final');
const final = fids(trainer, 'final');
const is = (await mnistIs(fake.data, { extractor })).value;
const preds = extractor.predict(fake.data);
const perClass = Array.from({ length: 10 }, (_, c) => +(preds.filter((p) => p === c).length / preds.length).toFixed(3));
const last = trainer.history.slice(-50);
const avg = (k) => last.reduce((s, h) => s + h[k], 0) / last.length;
const result = {
  bench: 'mnist-dcgan', backend: tf.getBackend(), nativeThreads: process.env.NUTSHELL_NATIVE_THREADS ?? 'default',
  model: `DCGAN G (z ${latentDim}, width ${width}; ${paramCount(G)} params), D (width ${width}, BatchNorm; ${paramCount(D)} params)`,
  loss: 'non-saturating', optimizer: `Adam ${lr}, betas (0.5, 0.999) for both`, batchSize, ema,
  budgetMinutes: minutes, steps: trainer.step, epochs: +(trainer.step * batchSize / mnist.train.length).toFixed(2),
  wallSeconds: +wallSeconds.toFixed(1), trainSeconds: +trainSeconds.toFixed(1), secondsPerStep: +(trainSeconds / trainer.step).toFixed(3),
  dLossLast50: +avg('dLoss').toFixed(4), gLossLast50: +avg('gLoss').toFixed(4),
  fid: +final.raw.toFixed(2), ...(final.avg !== undefined ? { fidEma: +final.avg.toFixed(2) } : {}), fidRealTrainVsHeldOut: +floor.toFixed(2), mnistIs: +is.toFixed(2), samplesPerClass: perClass,
  eval: `${nEval} EMA samples vs ${nEval} held-out test digits, @nutshell/metrics MNIST net (${extractor.name}, 128-d)`,
  curve, grids: trainer.grids.slice(-1),
};
console.log(JSON.stringify(result, null, 2));
console.log('\n| backend | steps | epochs | wall s (incl. evals) | train s | s/step | FID | FID floor (real/real) | MNIST-IS |');
console.log('|---|---|---|---|---|---|---|---|---|');
console.log(`| ${result.backend} | ${result.steps} | ${result.epochs} | ${result.wallSeconds} | ${result.trainSeconds} | ${result.secondsPerStep} | ${result.fid} | ${result.fidRealTrainVsHeldOut} | ${result.mnistIs} |`);
console.log('\n| step | train s | FID |\n|---|---|---|');
for (const c of curve) console.log(`| ${c.step} | ${c.trainSeconds} | ${c.fid} |`);
trainer.dispose();
extractor.dispose();
