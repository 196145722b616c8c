import { Rng, tf, type Tensor } from '@nutshell/core';
import { DataLoader } from '@nutshell/nn';
import { generate, GPT } from '@nutshell/transformer';
import { activateBackend } from '../backends.js';
import type { GlossData } from './gloss-data.js';
import { measureGptStep } from './gpt-probe.js';
import { glossGptConfig, type GptStageOptions } from './gpt-stage.js';
import { buildGan, type ImageStageOptions } from './image-stage.js';

/** The three kinds of work the demo's stages consist of. */
export type Workload = 'train' | 'decode' | 'gan';

/** Seconds per unit of each workload on one backend (train: GPT step; decode: token; gan: GAN step). */
export type ProbeTimes = Record<Workload, number>;

export interface ProbeOptions {
  gpt: Pick<GptStageOptions, 'nLayer' | 'nEmbd' | 'nPositions' | 'batchSize' | 'lr'>;
  image: Pick<ImageStageOptions, 'latentDim' | 'hidden' | 'batchSize'>;
  seed: number;
  /** Measured repetitions per workload (after one left-out warm-up). */
  steps: number;
}

/**
 * Times the demo's own models on the active backend: a few training steps of the GPT (real shape,
 * batch and data), greedy decoding with the KV cache from a fresh GPT of that shape, and a few GAN
 * steps. Short (a few seconds), so every run can choose its backends by measurement, under the
 * load the machine has right now, instead of trusting numbers from another machine or day.
 */
export async function probeBackend(backend: string, data: GlossData, o: ProbeOptions): Promise<ProbeTimes> {
  await activateBackend(backend);
  const train = await measureGptStep(data, { ...o.gpt, seed: o.seed }, o.steps);

  const model = new GPT({ ...glossGptConfig(o.gpt), vocabSize: data.tokenizer.vocabSize }, { seed: o.seed });
  const tokens = 4 * o.steps;
  let decode: number;
  try {
    const prompt = data.tokenizer.encode('water:');
    await generate(model, prompt, { maxNewTokens: 2, greedy: true });
    const t0 = performance.now();
    await generate(model, prompt, { maxNewTokens: tokens, greedy: true });
    decode = (performance.now() - t0) / 1000 / tokens;
  } finally {
    model.dispose();
  }

  const { G, D, optimizerG, optimizerD, trainer } = buildGan({ ...o.image, seed: o.seed });
  const images = new Rng(`${o.seed}/probe`).normalTensor([4 * o.image.batchSize, 784]);
  const x = tf.tidy(() => tf.tanh(images));
  images.dispose();
  let gan: number;
  try {
    const loader = new DataLoader<Tensor>(x, { batchSize: o.image.batchSize, shuffle: true, seed: o.seed });
    await trainer.fit(loader, { steps: 1 });
    const t0 = performance.now();
    await trainer.fit(loader, { steps: 1 + o.steps });
    gan = (performance.now() - t0) / 1000 / o.steps;
  } finally {
    x.dispose();
    trainer.dispose();
    optimizerG.dispose();
    optimizerD.dispose();
    G.dispose();
    D.dispose();
  }
  return { train, decode, gan };
}
