import type { Callback } from '@nutshell/nn';
import { trainGpt, type GPT } from '@nutshell/transformer';
import { budgetProgress } from './budget-progress.js';
import type { GlossData } from './gloss-data.js';

export interface GptStageOptions {
  seed: number;
  /** Upper bound on optimizer steps (the LR schedule spans it: size it from a measured step time). */
  maxSteps: number;
  /** Wall-clock budget: training stops after the step that crosses it (Infinity = none). */
  seconds: number;
  nLayer: number;
  nEmbd: number;
  nPositions: number;
  batchSize: number;
  lr: number;
  /** Fixed validation batches for the loss curve and the final validation loss (default 2). */
  evalBatches?: number;
}

export interface GptStageResult {
  model: GPT;
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  valLoss: number;
  parameters: number;
  config: { nLayer: number; nHead: number; nEmbd: number; nPositions: number; vocabSize: number };
  losses: [number, number][];
  evals: [number, number][];
  stoppedBy: 'budget' | 'steps';
}

/** The GPT shape for the stage's options (4 heads, no dropout, biases as GPT-2). */
export function glossGptConfig(o: Pick<GptStageOptions, 'nLayer' | 'nEmbd' | 'nPositions'>) {
  return { nLayer: o.nLayer, nHead: 4, nEmbd: o.nEmbd, nPositions: o.nPositions, dropout: 0, bias: true };
}

/** Trains the character-level GPT on WordNet "word: gloss" lines with transformer's trainGpt. */
export async function trainGlossGpt(data: GlossData, o: GptStageOptions): Promise<GptStageResult> {
  const progress = budgetProgress('train gpt', o.maxSteps, o.seconds);
  let stoppedBy: GptStageResult['stoppedBy'] = 'steps';
  let start = 0;
  const budget: Callback = {
    onTrainBegin: () => void (start = Date.now()),
    onStepEnd: (trainer, log) => {
      progress.update(log.step, { loss: log.loss });
      if ((Date.now() - start) / 1000 >= o.seconds && log.step < o.maxSteps) {
        stoppedBy = 'budget';
        trainer.stop();
      }
    },
  };
  const evalEvery = Math.max(10, Math.floor(o.maxSteps / 10));
  const config = glossGptConfig(o);
  const r = await trainGpt({
    trainText: data.trainText,
    valText: data.valText,
    tokenizer: data.tokenizer,
    config,
    steps: o.maxSteps,
    batchSize: o.batchSize,
    lr: o.lr,
    minLr: o.lr / 10,
    warmupSteps: Math.min(20, Math.floor(o.maxSteps / 5)),
    evalEvery,
    evalBatches: o.evalBatches ?? 2,
    seed: o.seed,
    progress: false,
    callbacks: [budget],
  });
  const losses = r.history.steps.map((s) => [s.step, s.loss] as [number, number]);
  const steps = losses.at(-1)?.[0] ?? 0;
  const evals = r.history.evals.map((e) => [e.step, e.metrics.loss!] as [number, number]);
  if (evals.at(-1)?.[0] !== steps && Number.isFinite(r.valLoss)) evals.push([steps, r.valLoss]);
  progress.done({ steps, loss: losses.at(-1)?.[1], val: r.valLoss });
  return {
    model: r.model,
    steps,
    seconds: r.seconds,
    tokensPerSecond: r.tokensPerSecond,
    valLoss: r.valLoss,
    parameters: r.model.numParameters(),
    config: { ...config, nHead: 4, vocabSize: data.tokenizer.vocabSize },
    losses,
    evals,
    stoppedBy,
  };
}
