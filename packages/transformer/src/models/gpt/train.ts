import { InvalidArgumentError, Rng, describe, tf, type Tensor, type TextTokenizer } from '@nutshell/core';
import { AdamW, Checkpoint, DataLoader, ProgressLogger, Trainer, schedules, type Callback, type Dataset, type History, type Module } from '@nutshell/nn';
import { CharTokenizer } from '../../tokenizers/char.js';
import { saveTokenizer } from '../../tokenizers/files.js';
import type { Tokenizer } from '../../tokenizers/types.js';
import { gptConfig, type GptConfigInput } from './config.js';
import { saveGpt2 } from './hf.js';
import { GPT } from './model.js';
import { lossCurveSvg } from './loss-curve.js';

/** nanoGPT's shakespeare_char recipe at its CPU size (README: "I only have a macbook"). */
export const NANOGPT_CPU_RECIPE = {
  nLayer: 4, nHead: 4, nEmbd: 128, nPositions: 64, dropout: 0, bias: false,
  batchSize: 12, steps: 2000, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, weightDecay: 0.1, betas: [0.9, 0.99] as [number, number], gradClip: 1,
} as const;

export interface TrainGptOptions {
  /** The whole corpus; the last valFraction of it is validation (nanoGPT's contiguous split). */
  text?: string;
  trainText?: string;
  valText?: string;
  valFraction?: number;
  /** Default: a CharTokenizer over the corpus. */
  tokenizer?: TextTokenizer;
  /** Model shape (defaults: the recipe's 4 layers, 4 heads, 128 dims, context 64, no bias, no dropout). */
  config?: Partial<GptConfigInput>;
  steps?: number;
  batchSize?: number;
  lr?: number;
  /** Cosine decay floor (nanoGPT min_lr). */
  minLr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  betas?: [number, number];
  gradClip?: number;
  /** Evaluate every N steps (default steps/8) on evalBatches fixed validation batches. */
  evalEvery?: number;
  evalBatches?: number;
  seed?: number | string;
  /** Write checkpoints, the final model (HF GPT-2 layout), tokenizer, loss-curve.json/.svg here. */
  outDir?: string;
  /** Checkpoint every N steps (default: evalEvery) into outDir/checkpoint.safetensors. */
  checkpointEvery?: number;
  /** Resume from outDir/checkpoint.safetensors when it exists (default true when outDir is given). */
  resume?: boolean;
  /** Stop this call at this (absolute) step, e.g. to split a run; the schedule still spans `steps`. */
  untilStep?: number;
  /** Progress output: JSON lines (non-TTY) or a bar; false for silence. */
  progress?: boolean | ConstructorParameters<typeof ProgressLogger>[0];
  callbacks?: Callback[];
}

export interface TrainGptResult {
  model: GPT;
  tokenizer: TextTokenizer;
  history: History;
  /** Validation loss after the last step (nats per token). */
  valLoss: number;
  /** exp(valLoss): validation perplexity per token. */
  valPerplexity: number;
  /** Training throughput of this run (tokens per second, forward + backward + update). */
  tokensPerSecond: number;
  seconds: number;
  files: string[];
}

/** Contiguous windows of a token stream: sample i is tokens [o, o+T] at offset o = offsets(i). */
function windows(tokens: Int32Array, T: number, offsets?: number[]): Dataset<number> {
  const n = offsets ? offsets.length : tokens.length - T - 1;
  if (n < 1) throw new InvalidArgumentError(`trainGpt: the text has ${tokens.length} tokens, too few for a context of ${T}`);
  return { length: n, get: (i) => (offsets ? offsets[i]! : i) };
}

function collate(tokens: Int32Array, T: number) {
  return (offsets: number[]): [Tensor, Tensor] => {
    const B = offsets.length;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    offsets.forEach((o, b) => {
      x.set(tokens.subarray(o, o + T), b * T);
      y.set(tokens.subarray(o + 1, o + T + 1), b * T);
    });
    return [tf.tensor2d(x, [B, T], 'int32'), tf.tensor2d(y, [B, T], 'int32')];
  };
}

/**
 * Trains a GPT language model on text with nn's Trainer: AdamW (weight decay on matrices only, as
 * nanoGPT), linear warmup + cosine decay to minLr, gradient clipping, periodic validation,
 * atomic checkpoints and resume, progress as JSON lines.
 */
export async function trainGpt(options: TrainGptOptions): Promise<TrainGptResult> {
  const R = NANOGPT_CPU_RECIPE;
  let train = options.trainText;
  let val = options.valText;
  if (train === undefined) {
    if (typeof options.text !== 'string' || !options.text.length) throw new InvalidArgumentError(`trainGpt: give text (or trainText and valText), got ${describe(options.text)}`);
    const f = options.valFraction ?? 0.1;
    if (!(f > 0 && f < 1)) throw new InvalidArgumentError(`trainGpt: valFraction must be in (0, 1), got ${describe(f)}`);
    const cut = Math.round(options.text.length * (1 - f));
    train = options.text.slice(0, cut);
    val = options.text.slice(cut);
  }
  const tokenizer = options.tokenizer ?? CharTokenizer.fromText(`${train}${val ?? ''}`);
  const trainTokens = Int32Array.from(tokenizer.encode(train));
  const valTokens = Int32Array.from(tokenizer.encode(val ?? ''));
  const seed = options.seed ?? 1337;
  const steps = options.steps ?? R.steps;
  const batchSize = options.batchSize ?? R.batchSize;
  const cfg: GptConfigInput = {
    nLayer: R.nLayer, nHead: R.nHead, nEmbd: R.nEmbd, nPositions: R.nPositions, dropout: R.dropout, bias: R.bias,
    ...options.config,
    vocabSize: tokenizer.vocabSize,
  };
  const T = gptConfig(cfg).nPositions;
  if (trainTokens.length < T + 2) throw new InvalidArgumentError(`trainGpt: the training text has ${trainTokens.length} tokens, too few for a context of ${T}`);
  const model = new GPT(cfg, { seed });
  const evalEvery = options.evalEvery ?? Math.max(1, Math.floor(steps / 8));
  const rng = new Rng(`${seed}/val`);
  const evalN = (options.evalBatches ?? 20) * batchSize;
  const valData = valTokens.length > T + 1 ? valTokens : trainTokens;
  const valOffsets = Array.from({ length: evalN }, () => rng.int(valData.length - T - 1));
  const trainLoader = new DataLoader<number, [Tensor, Tensor]>(windows(trainTokens, T), { batchSize, shuffle: true, seed, dropLast: true, collate: collate(trainTokens, T) });
  const valLoader = new DataLoader<number, [Tensor, Tensor]>(windows(valData, T, valOffsets), { batchSize, collate: collate(valData, T) });

  const decay = model.parameters().filter((p) => p.rank >= 2);
  const noDecay = model.parameters().filter((p) => p.rank < 2);
  const optimizer = new AdamW(
    [{ params: decay, options: { weightDecay: options.weightDecay ?? R.weightDecay } }, { params: noDecay, options: { weightDecay: 0 } }],
    { lr: options.lr ?? R.lr, betas: options.betas ?? R.betas },
  );
  const lr = options.lr ?? R.lr;
  const warmup = Math.min(options.warmupSteps ?? R.warmupSteps, Math.max(0, steps - 1));
  const schedule = schedules.cosineWithWarmup({ warmupSteps: warmup, totalSteps: steps, minFactor: (options.minLr ?? R.minLr) / lr });

  const callbacks: Callback[] = [...(options.callbacks ?? [])];
  if (options.progress !== false) callbacks.push(new ProgressLogger(typeof options.progress === 'object' ? options.progress : {}));
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  let ckpt: string | undefined;
  if (options.outDir) {
    await fs.mkdir(options.outDir, { recursive: true });
    ckpt = join(options.outDir, 'checkpoint.safetensors');
    callbacks.push(new Checkpoint(ckpt, { every: options.checkpointEvery ?? evalEvery, atEnd: true }));
  }
  let t0 = 0;
  let stepsRun = 0;
  callbacks.push({ onTrainBegin: () => void (t0 = Date.now()), onStepEnd: () => void stepsRun++ });
  const trainer = new Trainer<[Tensor, Tensor]>({
    model,
    optimizer,
    loss: (m: Module, [x, y]) => (m as GPT).loss(x, y),
    schedule,
    maxGradNorm: options.gradClip ?? R.gradClip,
    callbacks,
  });
  const resumeFrom = ckpt && (options.resume ?? true) && (await fs.access(ckpt).then(() => true, () => false)) ? ckpt : undefined;
  try {
    const history = await trainer.fit(trainLoader, { maxSteps: Math.min(steps, options.untilStep ?? steps), evalData: valLoader, evalEvery, resumeFrom });
    const seconds = (Date.now() - t0) / 1000;
    let valLoss = history.evals.at(-1)?.step === trainer.step ? history.evals.at(-1)!.metrics.loss! : trainer.evaluate(valLoader).loss!;
    if (!Number.isFinite(valLoss)) valLoss = NaN;
    model.eval();
    const files: string[] = [];
    if (options.outDir) {
      files.push(...(await saveGpt2(model, options.outDir, { nutshell_recipe: 'nanogpt-shakespeare-char' })));
      if ('kind' in tokenizer) files.push(...(await saveTokenizer(tokenizer as unknown as Tokenizer, options.outDir)));
      const curve = { steps: history.steps.map((s) => [s.step, s.loss]), evals: history.evals.map((e) => [e.step, e.metrics.loss]) };
      const cj = join(options.outDir, 'loss-curve.json');
      const cs = join(options.outDir, 'loss-curve.svg');
      await fs.writeFile(cj, `${JSON.stringify(curve)}\n`);
      await fs.writeFile(cs, lossCurveSvg(curve.steps as [number, number][], curve.evals as [number, number][]));
      files.push(cj, cs);
    }
    return { model, tokenizer, history, valLoss, valPerplexity: Math.exp(valLoss), tokensPerSecond: (stepsRun * batchSize * T) / Math.max(1e-9, seconds), seconds, files };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
}
