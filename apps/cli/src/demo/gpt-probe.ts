import type { Callback } from '@nutshell/nn';
import { trainGpt } from '@nutshell/transformer';
import type { GlossData } from './gloss-data.js';
import { glossGptConfig, type GptStageOptions } from './gpt-stage.js';

/**
 * Seconds per training step of the demo's actual GPT (same shape, batch and data) on the active
 * backend: a few real steps of trainGpt, the first (kernel set-up, allocation) left out, median of
 * the rest. Used to pick the backend and to size the LR schedule to the wall-clock budget.
 */
export async function measureGptStep(data: GlossData, o: Pick<GptStageOptions, 'nLayer' | 'nEmbd' | 'nPositions' | 'batchSize' | 'lr' | 'seed'>, steps = 4): Promise<number> {
  const ends: number[] = [];
  const timer: Callback = { onStepEnd: () => void ends.push(performance.now()) };
  // A short slice of the corpus: the probe should not pay for tokenizing all of it.
  const trainText = data.trainText.slice(0, 20000);
  const r = await trainGpt({
    trainText,
    valText: data.valText.slice(0, 4000),
    tokenizer: data.tokenizer,
    config: glossGptConfig(o),
    steps: steps + 1,
    batchSize: o.batchSize,
    lr: o.lr,
    warmupSteps: 0,
    evalEvery: 1e9,
    evalBatches: 1,
    seed: o.seed,
    progress: false,
    callbacks: [timer],
  });
  r.model.dispose();
  const gaps = ends.slice(1).map((t, i) => (t - ends[i]!) / 1000).sort((x, y) => x - y);
  return gaps[Math.floor(gaps.length / 2)] ?? r.seconds;
}
