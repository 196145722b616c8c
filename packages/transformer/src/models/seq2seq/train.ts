import { InvalidArgumentError, describe, tf, type Tensor, type TextTokenizer } from '@nutshell/core';
import { AdamW, DataLoader, ProgressLogger, Trainer, schedules, type Callback, type History, type Module } from '@nutshell/nn';
import type { T5ConfigInput } from './config.js';
import { generateSeq2seqBatch, padBatch } from './generate.js';
import { IGNORE_INDEX, T5 } from './model.js';
import type { TextPair } from './tasks.js';

/** A tokenized example: input ids and target ids (both usually ending in eos). */
export interface IdPair {
  input: number[];
  target: number[];
  task?: string;
}

/** Tokenizes text pairs with eos appended to both sides (as T5's preprocessors do). */
export function encodePairs(tokenizer: TextTokenizer & { eosTokenId?: number }, pairs: readonly TextPair[], eosTokenId = tokenizer.eosTokenId ?? 1): IdPair[] {
  return pairs.map((p) => ({ input: [...tokenizer.encode(p.source), eosTokenId], target: [...tokenizer.encode(p.target), eosTokenId], task: p.task }));
}

export interface Seq2seqBatch {
  ids: Tensor;
  mask: Tensor;
  /** Targets padded with −100 (ignored by the loss). */
  labels: Tensor;
}

/** Pads a list of pairs into one batch: inputs with pad + a 0/1 mask, labels with −100. */
export function collateSeq2seq(pairs: readonly IdPair[], padTokenId = 0): Seq2seqBatch {
  const { ids, mask } = padBatch(pairs.map((p) => p.input), padTokenId);
  const T = Math.max(...pairs.map((p) => p.target.length));
  const labels = pairs.map((p) => [...p.target, ...new Array<number>(T - p.target.length).fill(IGNORE_INDEX)]);
  return { ids: tf.tensor2d(ids, undefined, 'int32'), mask: tf.tensor2d(mask, undefined, 'int32'), labels: tf.tensor2d(labels, undefined, 'int32') };
}

export interface TrainSeq2seqOptions {
  /** Training examples (token ids). */
  train: readonly IdPair[];
  /** Validation examples for the periodic loss (default: none). */
  val?: readonly IdPair[];
  /** A model to train, or the config of a new one (vocabSize required then). */
  model?: T5;
  config?: T5ConfigInput;
  steps?: number;
  batchSize?: number;
  lr?: number;
  warmupSteps?: number;
  /** Cosine decay floor as a fraction of lr (default 0.1). */
  minLrFactor?: number;
  weightDecay?: number;
  gradClip?: number;
  evalEvery?: number;
  seed?: number | string;
  progress?: boolean | ConstructorParameters<typeof ProgressLogger>[0];
  callbacks?: Callback[];
}

export interface TrainSeq2seqResult {
  model: T5;
  history: History;
  seconds: number;
  /** Training throughput: target tokens per second. */
  tokensPerSecond: number;
}

/**
 * Trains a T5 on (input, target) id pairs with teacher forcing: AdamW (decay on matrices only),
 * linear warmup + cosine decay, gradient clipping, nn's Trainer (callbacks, progress, eval).
 */
export async function trainSeq2seq(options: TrainSeq2seqOptions): Promise<TrainSeq2seqResult> {
  const train = options.train;
  if (!Array.isArray(train) || !train.length) throw new InvalidArgumentError(`trainSeq2seq: train must be a non-empty array of {input, target} id pairs, got ${describe(train)}`);
  for (const p of train) {
    if (!p || !Array.isArray(p.input) || !Array.isArray(p.target) || !p.input.length || !p.target.length) throw new InvalidArgumentError(`trainSeq2seq: each example needs non-empty input and target id arrays, got ${describe(p)}`);
  }
  if (!options.model && !options.config) throw new InvalidArgumentError('trainSeq2seq: give a model or a config');
  const seed = options.seed ?? 1234;
  const model = options.model ?? new T5(options.config!, { seed });
  const V = model.config.vocabSize;
  for (const set of [train, options.val ?? []]) {
    for (const p of set) {
      for (const id of [...p.input, ...p.target]) {
        if (!Number.isInteger(id) || id < 0 || id >= V) {
          if (!options.model) model.dispose();
          throw new InvalidArgumentError(`trainSeq2seq: token id ${describe(id)} is outside the vocabulary [0, ${V})`);
        }
      }
    }
  }
  const steps = options.steps ?? 1000;
  const batchSize = options.batchSize ?? 32;
  const lr = options.lr ?? 3e-3;
  const pad = model.config.padTokenId;
  const loader = new DataLoader<IdPair, Seq2seqBatch>({ length: train.length, get: (i) => train[i]! }, { batchSize, shuffle: true, seed, dropLast: train.length >= batchSize, collate: (b) => collateSeq2seq(b, pad) });
  const valLoader = options.val?.length ? new DataLoader<IdPair, Seq2seqBatch>({ length: options.val.length, get: (i) => options.val![i]! }, { batchSize, collate: (b) => collateSeq2seq(b, pad) }) : undefined;
  const decay = model.parameters().filter((p) => p.rank >= 2);
  const noDecay = model.parameters().filter((p) => p.rank < 2);
  const optimizer = new AdamW([{ params: decay, options: { weightDecay: options.weightDecay ?? 0.01 } }, { params: noDecay, options: { weightDecay: 0 } }], { lr, betas: [0.9, 0.98] });
  const warmup = Math.min(options.warmupSteps ?? Math.round(steps / 20), steps - 1);
  const callbacks: Callback[] = [...(options.callbacks ?? [])];
  if (options.progress) callbacks.push(new ProgressLogger(typeof options.progress === 'object' ? options.progress : {}));
  let t0 = 0;
  let targetTokens = 0;
  callbacks.push({ onTrainBegin: () => void (t0 = Date.now()) });
  const trainer = new Trainer<Seq2seqBatch>({
    model,
    optimizer,
    loss: (m: Module, b) => {
      targetTokens += b.labels.size;
      return (m as T5).loss(b.ids, b.labels, b.mask);
    },
    schedule: steps > 1 ? schedules.cosineWithWarmup({ warmupSteps: Math.max(0, warmup), totalSteps: steps, minFactor: options.minLrFactor ?? 0.1 }) : undefined,
    maxGradNorm: options.gradClip ?? 1,
    callbacks,
  });
  try {
    model.train();
    const history = await trainer.fit(loader, { maxSteps: steps, evalData: valLoader, evalEvery: options.evalEvery ?? Math.max(1, Math.floor(steps / 4)) });
    const seconds = (Date.now() - t0) / 1000;
    model.eval();
    return { model, history, seconds, tokensPerSecond: targetTokens / Math.max(1e-9, seconds) };
  } catch (e) {
    if (!options.model) model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
}

export interface ExactMatchResult {
  /** Fraction of examples whose greedy output equals the target exactly. */
  accuracy: number;
  byTask: Record<string, number>;
  n: number;
}

/** Exact-match accuracy of greedy decoding (batched, KV-cached) against the target ids. */
export async function exactMatch(model: T5, pairs: readonly IdPair[], options: { batchSize?: number; maxNewTokens?: number } = {}): Promise<ExactMatchResult> {
  const bs = options.batchSize ?? 64;
  const hits: Record<string, [number, number]> = {};
  let right = 0;
  for (let i = 0; i < pairs.length; i += bs) {
    const chunk = pairs.slice(i, i + bs);
    const maxNew = options.maxNewTokens ?? Math.max(...chunk.map((p) => p.target.length));
    const out = await generateSeq2seqBatch(model, chunk.map((p) => p.input), { maxNewTokens: maxNew });
    out.forEach((r, j) => {
      const want = chunk[j]!.target;
      const ok = r.ids.length === want.length && r.ids.every((id, k) => id === want[k]);
      const task = chunk[j]!.task ?? 'all';
      const h = (hits[task] ??= [0, 0]);
      h[1]++;
      if (ok) {
        h[0]++;
        right++;
      }
    });
  }
  const byTask = Object.fromEntries(Object.entries(hits).map(([k, [a, n]]) => [k, a / n]));
  return { accuracy: right / pairs.length, byTask, n: pairs.length };
}
