import { Rng, tf } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { encodePng, GanTrainer, imageGrid, MLPDiscriminator, MLPGenerator } from '@nutshell/gan';
import { Adam, DataLoader, Sequential, Tanh } from '@nutshell/nn';
import { budgetProgress } from './budget-progress.js';

export interface ImageStageOptions {
  seed: number;
  maxSteps: number;
  seconds: number;
  batchSize: number;
  latentDim: number;
  hidden: number;
}

export interface ImageStageResult {
  steps: number;
  seconds: number;
  parameters: { generator: number; discriminator: number };
  dLoss: [number, number][];
  gLoss: [number, number][];
  /** PNG bytes of a 8×8 grid of samples (EMA generator, fixed noise). */
  gridPng: Uint8Array;
  /** The same grid size of real MNIST digits, for comparison. */
  realPng: Uint8Array;
  generator: Sequential;
  pixelMean: number;
  pixelStd: number;
}

/** The stage's generator, discriminator, optimizers and trainer (also used by the backend probe). */
export function buildGan(o: Pick<ImageStageOptions, 'seed' | 'latentDim' | 'hidden'>) {
  const G = new Sequential(new MLPGenerator(o.latentDim, 784, { hidden: [o.hidden, 2 * o.hidden], seed: o.seed + 1 }), new Tanh());
  const D = new MLPDiscriminator(784, { hidden: [2 * o.hidden, o.hidden], minibatchStd: true, seed: o.seed + 2 });
  const optimizerG = new Adam(G, { lr: 1e-3, betas: [0.5, 0.999] });
  const optimizerD = new Adam(D, { lr: 1e-3, betas: [0.5, 0.999] });
  const trainer = new GanTrainer({ generator: G, discriminator: D, latentDim: o.latentDim, optimizerG, optimizerD, log: false, ema: { decay: 0.95 }, seed: o.seed });
  return { G, D, optimizerG, optimizerD, trainer };
}

/**
 * An MLP GAN on MNIST (784-pixel images in [-1, 1], tanh generator, non-saturating loss, Adam
 * 1e-3 / β₁ 0.5, minibatch-stddev feature in D against mode collapse, generator EMA 0.95), trained
 * in chunks of 10 steps until the step or time budget runs out. An MLP and not a DCGAN: the
 * transposed convolutions' gradients are far slower than matmuls on these CPU backends (40 DCGAN
 * steps did not finish in minutes here), while this MLP draws recognisable digits in ~500 steps.
 */
export async function trainDigits(o: ImageStageOptions): Promise<ImageStageResult> {
  const mnist = await loadMnist({ range: [-1, 1], seed: o.seed, flatten: true });
  const x = tf.tensor2d(mnist.train.x as Float32Array, [mnist.train.length, 784]);
  const { G, D, optimizerG, optimizerD, trainer } = buildGan(o);
  const loader = new DataLoader(x, { batchSize: o.batchSize, shuffle: true, seed: o.seed });
  const progress = budgetProgress('train gan', o.maxSteps, o.seconds);
  const t0 = Date.now();
  let steps = 0;
  const dLoss: [number, number][] = [];
  const gLoss: [number, number][] = [];
  try {
    while (steps < o.maxSteps && (Date.now() - t0) / 1000 < o.seconds) {
      steps = Math.min(o.maxSteps, steps + 10);
      const history = await trainer.fit(loader, { steps });
      for (const h of history.slice(dLoss.length)) {
        dLoss.push([h.step, h.dLoss]);
        gLoss.push([h.step, h.gLoss]);
      }
      progress.update(steps, { d: dLoss.at(-1)?.[1], g: gLoss.at(-1)?.[1] });
    }
  } finally {
    x.dispose();
    optimizerG.dispose();
    optimizerD.dispose();
  }
  const seconds = (Date.now() - t0) / 1000;
  progress.done({ steps });
  G.eval();
  // Samples from the EMA weights (smoother than the last step's), loaded into G for good.
  if (trainer.ema) G.loadStateDict(trainer.ema.stateDict());
  trainer.dispose();
  const samples = tf.tidy(() => tf.reshape(G.forward(new Rng(`${o.seed}/grid`).normalTensor([64, o.latentDim])), [64, 28, 28, 1]));
  const stats = tf.tidy(() => tf.moments(samples));
  const pixelMean = stats.mean.dataSync()[0]!;
  const pixelStd = Math.sqrt(stats.variance.dataSync()[0]!);
  tf.dispose([stats.mean, stats.variance]);
  const gridPng = encodePng(imageGrid(samples, { nrow: 8 }));
  samples.dispose();
  const real = tf.tensor4d((mnist.test.x as Float32Array).slice(0, 64 * 784), [64, 28, 28, 1]);
  const realPng = encodePng(imageGrid(real, { nrow: 8 }));
  real.dispose();
  const count = (m: { parameters(): { size: number }[] }) => m.parameters().reduce((a, p) => a + p.size, 0);
  const parameters = { generator: count(G), discriminator: count(D) };
  D.dispose();
  return { steps, seconds, parameters, dLoss, gLoss, gridPng, realPng, generator: G, pixelMean, pixelStd };
}
