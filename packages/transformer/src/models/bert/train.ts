import { InvalidArgumentError, ShapeError, describe, tf, type Tensor } from '@nutshell/core';
import { AdamW, DataLoader, ProgressLogger, Trainer, schedules, type Callback, type Dataset, type History, type Module } from '@nutshell/nn';
import { saveTokenizer } from '../../tokenizers/files.js';
import { trainWordPiece } from '../../tokenizers/wordpiece-trainer.js';
import type { WordPieceTokenizer } from '../../tokenizers/wordpiece.js';
import { BertForSequenceClassification } from './classification.js';
import { bertConfig, type BertConfigInput } from './config.js';
import { saveBert } from './hf.js';
import { padBertBatch } from './inputs.js';
import { maskTokens } from './masking.js';
import { BertForMaskedLM } from './mlm.js';
import { BertModel } from './model.js';

/** One encoded example: ids with [CLS]/[SEP] and segment ids. */
interface Example {
  ids: number[];
  tokenTypeIds: number[];
}

interface Batch {
  inputIds: Tensor;
  attentionMask: Tensor;
  tokenTypeIds: Tensor;
  labels: Tensor;
}

/** Options shared by MLM pretraining and classifier fine-tuning. */
export interface BertTrainLoopOptions {
  steps?: number;
  batchSize?: number;
  /** Peak learning rate of AdamW (BERT: linear warmup, then linear decay to 0). */
  lr?: number;
  /** Default 10% of steps. */
  warmupSteps?: number;
  /** On matrices only (HF leaves biases and LayerNorm weights out). Default 0.01. */
  weightDecay?: number;
  gradClip?: number;
  seed?: number | string;
  /** Evaluate every N steps (default steps/4). */
  evalEvery?: number;
  /** Progress output (JSON lines or a bar); false for silence. Default false. */
  progress?: boolean | ConstructorParameters<typeof ProgressLogger>[0];
  callbacks?: Callback[];
}

export interface TrainBertMlmOptions extends BertTrainLoopOptions {
  /** Training examples, one text each (a sentence, a gloss, a line). */
  texts: readonly string[];
  /** Held-out texts; default: the last valFraction of `texts`. */
  valTexts?: readonly string[];
  valFraction?: number;
  /** Default: trainWordPiece on the training texts with `vocabSize` (default 1000) and minFrequency 2. */
  tokenizer?: WordPieceTokenizer;
  vocabSize?: number;
  /** Model shape; vocabSize comes from the tokenizer. */
  config?: Partial<BertConfigInput>;
  /** Longest example in tokens including [CLS] and [SEP] (longer ones are cut). Default: maxPositionEmbeddings. */
  maxLength?: number;
  /** BERT's 15% / 80% / 10% (random) / 10% (unchanged). */
  mlmProbability?: number;
  /** Write the model (HF layout), vocab.txt and loss-curve.json here. */
  outDir?: string;
}

export interface TrainBertMlmResult {
  model: BertForMaskedLM;
  tokenizer: WordPieceTokenizer;
  history: History;
  /** Mean MLM loss and accuracy over the masked positions of the validation texts (fixed, seeded masks). */
  valLoss: number;
  valAccuracy: number;
  /** Masked positions the validation numbers are over. */
  valMasked: number;
  seconds: number;
  files: string[];
}

function loopDefaults(o: BertTrainLoopOptions, where: string) {
  const steps = o.steps ?? 1000;
  const batchSize = o.batchSize ?? 32;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError(`${where}: steps must be a positive integer, got ${describe(steps)}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`${where}: batchSize must be a positive integer, got ${describe(batchSize)}`);
  const lr = o.lr ?? 1e-3;
  if (!(lr > 0)) throw new InvalidArgumentError(`${where}: lr must be > 0, got ${describe(lr)}`);
  const warmup = Math.min(o.warmupSteps ?? Math.floor(steps / 10), steps - 1);
  return { steps, batchSize, lr, warmup, seed: o.seed ?? 0, evalEvery: o.evalEvery ?? Math.max(1, Math.floor(steps / 4)) };
}

function optimizerFor(model: Module, lr: number, weightDecay: number): AdamW {
  const decay = model.parameters().filter((p) => p.rank >= 2);
  const noDecay = model.parameters().filter((p) => p.rank < 2);
  return new AdamW([{ params: decay, options: { weightDecay } }, { params: noDecay, options: { weightDecay: 0 } }], { lr, betas: [0.9, 0.999], eps: 1e-6 });
}

/** The Trainer both BERT loops use: AdamW without decay on biases/norms, linear warmup and decay, clipping. */
function bertTrainer<B>(model: Module, options: BertTrainLoopOptions, L: ReturnType<typeof loopDefaults>, loss: (m: Module, b: B) => Tensor): Trainer<B> {
  const callbacks: Callback[] = [...(options.callbacks ?? [])];
  if (options.progress) callbacks.push(new ProgressLogger(typeof options.progress === 'object' ? options.progress : {}));
  return new Trainer<B>({
    model,
    optimizer: optimizerFor(model, L.lr, options.weightDecay ?? 0.01),
    loss,
    schedule: schedules.linearWarmupDecay({ warmupSteps: L.warmup, totalSteps: L.steps }),
    maxGradNorm: options.gradClip ?? 1,
    callbacks,
  });
}

function encodeAll(tokenizer: WordPieceTokenizer, texts: readonly string[], maxLength: number, where: string): Example[] {
  const sep = tokenizer.tokenToId('[SEP]');
  return texts.map((t, i) => {
    if (typeof t !== 'string') throw new InvalidArgumentError(`${where}: text ${i} is ${describe(t)}, expected a string`);
    const e = tokenizer.encodeForModel(t);
    if (e.ids.length > maxLength) return { ids: [...e.ids.slice(0, maxLength - 1), sep!], tokenTypeIds: e.tokenTypeIds.slice(0, maxLength) };
    return { ids: e.ids, tokenTypeIds: e.tokenTypeIds };
  });
}

function mlmBatch(examples: Example[], masked: { inputIds: number[][]; labels: number[][] }, padId: number): Batch {
  const T = Math.max(...examples.map((e) => e.ids.length));
  const b = padBertBatch(examples.map((e, i) => ({ ids: masked.inputIds[i]!, tokenTypeIds: e.tokenTypeIds })), { padId, length: T });
  const labels = masked.labels.map((l) => [...l, ...Array(T - l.length).fill(-100)]);
  return { ...b, labels: tf.tensor2d(labels, [examples.length, T], 'int32') };
}

/** Exact masked-token loss and accuracy of `model` over batches (eval mode; nothing is trained). */
export function evaluateMlm(model: BertForMaskedLM, batches: Iterable<{ inputIds: Tensor | number[][]; attentionMask?: Tensor | number[][]; tokenTypeIds?: Tensor | number[][]; labels: Tensor | number[][] }>): { loss: number; accuracy: number; count: number } {
  const was = model.training;
  model.eval();
  let nll = 0;
  let right = 0;
  let count = 0;
  try {
    for (const b of batches) {
      const { logits, targets } = model.maskedLogits(b, b.labels);
      if (targets.length) {
        const [lossSum, hits] = tf.tidy(() => {
          const t = tf.tensor1d(targets, 'int32');
          const lp = tf.logSoftmax(logits);
          const picked = tf.sum(tf.mul(lp, tf.oneHot(t, logits.shape[1]!)), 1);
          return [tf.neg(tf.sum(picked)), tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), t), 'int32'))];
        });
        nll += lossSum!.dataSync()[0]!;
        right += hits!.dataSync()[0]!;
        lossSum!.dispose();
        hits!.dispose();
        count += targets.length;
      }
      logits.dispose();
    }
  } finally {
    model.train(was);
  }
  return { loss: count ? nll / count : NaN, accuracy: count ? right / count : NaN, count };
}

/**
 * Pretrains a BERT masked language model on texts (BERT's recipe at toy scale): WordPiece
 * vocabulary (trained here unless given), [CLS] text [SEP] examples, dynamic masking (fresh 15% /
 * 80-10-10 masks every batch, seeded), loss on the masked positions only, AdamW with linear warmup
 * and decay, weight decay on matrices only, gradient clipping, on nn's Trainer. Validation uses
 * fixed seeded masks and reports exact masked-token accuracy.
 */
export async function trainBertMlm(options: TrainBertMlmOptions): Promise<TrainBertMlmResult> {
  const where = 'trainBertMlm';
  if (!options || !Array.isArray(options.texts) || options.texts.length === 0) throw new InvalidArgumentError(`${where}: texts must be a non-empty array of strings, got ${describe(options?.texts)}`);
  const L = loopDefaults(options, where);
  let train = options.texts;
  let val = options.valTexts;
  if (!val) {
    const f = options.valFraction ?? 0.1;
    if (!(f >= 0 && f < 1)) throw new InvalidArgumentError(`${where}: valFraction must be in [0, 1), got ${describe(f)}`);
    const cut = Math.max(1, Math.round(train.length * (1 - f)));
    val = cut < train.length ? train.slice(cut) : train;
    train = train.slice(0, cut);
  }
  const tokenizer = options.tokenizer ?? trainWordPiece({ texts: train, vocabSize: options.vocabSize ?? 1000 });
  const need = ['[CLS]', '[SEP]', '[MASK]', '[PAD]'].filter((t) => tokenizer.tokenToId(t) === undefined);
  if (need.length) throw new InvalidArgumentError(`${where}: the tokenizer lacks ${need.join(', ')}`);
  const padId = tokenizer.tokenToId('[PAD]')!;
  const cfg = bertConfig({ ...options.config, vocabSize: tokenizer.vocabSize, padTokenId: padId });
  const maxLength = options.maxLength ?? cfg.maxPositionEmbeddings;
  if (!Number.isInteger(maxLength) || maxLength < 3 || maxLength > cfg.maxPositionEmbeddings) {
    throw new InvalidArgumentError(`${where}: maxLength must be an integer in [3, maxPositionEmbeddings=${cfg.maxPositionEmbeddings}], got ${describe(maxLength)}`);
  }
  const trainEx = encodeAll(tokenizer, train, maxLength, where);
  const valEx = encodeAll(tokenizer, val, maxLength, where);
  const specialIds = [...tokenizer.specialTokens.entries()].filter(([t]) => t !== tokenizer.unkToken).map(([, id]) => id);
  const maskOpts = { vocabSize: cfg.vocabSize, maskTokenId: tokenizer.tokenToId('[MASK]')!, specialIds, mlmProbability: options.mlmProbability };

  const model = new BertForMaskedLM(cfg, { seed: L.seed });
  let calls = 0;
  const data: Dataset<number> = { length: trainEx.length, get: (i) => i };
  const batchSize = Math.min(L.batchSize, trainEx.length);
  const trainLoader = new DataLoader<number, Batch>(data, {
    batchSize,
    shuffle: true,
    seed: L.seed,
    dropLast: true,
    collate: (idx) => {
      const ex = idx.map((i) => trainEx[i]!);
      return mlmBatch(ex, maskTokens(ex.map((e) => e.ids), { ...maskOpts, seed: `${L.seed}/mask/${calls++}` }), padId);
    },
  });
  const valMasked = maskTokens(valEx.map((e) => e.ids), { ...maskOpts, seed: `${L.seed}/val` });
  const valLoader = new DataLoader<number, Batch>({ length: valEx.length, get: (i) => i }, {
    batchSize: L.batchSize,
    collate: (idx) => mlmBatch(idx.map((i) => valEx[i]!), { inputIds: idx.map((i) => valMasked.inputIds[i]!), labels: idx.map((i) => valMasked.labels[i]!) }, padId),
  });

  const trainer = bertTrainer<Batch>(model, options, L, (m, b) => (m as BertForMaskedLM).loss(b, b.labels));
  const t0 = Date.now();
  try {
    const history = await trainer.fit(trainLoader, { maxSteps: L.steps, evalData: valLoader, evalEvery: L.evalEvery });
    const seconds = (Date.now() - t0) / 1000;
    model.eval();
    const batches = [...valLoader.batches(0)];
    const ev = evaluateMlm(model, batches);
    batches.forEach((b) => Object.values(b).forEach((t) => t.dispose()));
    const files: string[] = [];
    if (options.outDir) {
      const { join } = await import('node:path');
      const fs = await import('node:fs/promises');
      files.push(...(await saveBert(model, options.outDir)));
      files.push(...(await saveTokenizer(tokenizer, options.outDir)));
      const curve = join(options.outDir, 'loss-curve.json');
      await fs.writeFile(curve, `${JSON.stringify({ steps: history.steps.map((s) => [s.step, s.loss]), evals: history.evals.map((e) => [e.step, e.metrics.loss]) })}\n`);
      files.push(curve);
    }
    return { model, tokenizer, history, valLoss: ev.loss, valAccuracy: ev.accuracy, valMasked: ev.count, seconds, files };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    trainer.optimizer.dispose();
  }
}

export interface FineTuneBertClassifierOptions extends BertTrainLoopOptions {
  /** One text, or a [text, pair] sentence pair, per example. */
  texts: readonly (string | readonly [string, string])[];
  /** Class index per example, in [0, numLabels). */
  labels: readonly number[];
  valTexts?: readonly (string | readonly [string, string])[];
  valLabels?: readonly number[];
  tokenizer: WordPieceTokenizer;
  /** A pretrained encoder to start from (its bert.* weights are copied; the pooler of an MLM model is new). */
  encoder?: BertForMaskedLM | BertModel | BertForSequenceClassification;
  /** Model shape when there is no encoder. */
  config?: Partial<BertConfigInput>;
  numLabels?: number;
  maxLength?: number;
}

export interface FineTuneBertClassifierResult {
  model: BertForSequenceClassification;
  history: History;
  /** Accuracy on the validation examples (or the training examples when none are given). */
  accuracy: number;
  seconds: number;
}

/** Class predictions (argmax) of a classifier for texts. */
export function predictBertClassifier(model: BertForSequenceClassification, tokenizer: WordPieceTokenizer, texts: readonly (string | readonly [string, string])[], options: { batchSize?: number; maxLength?: number } = {}): number[] {
  const ex = encodePairs(tokenizer, texts, options.maxLength ?? model.config.maxPositionEmbeddings, 'predictBertClassifier');
  const was = model.training;
  model.eval();
  const out: number[] = [];
  const bs = options.batchSize ?? 64;
  const padId = model.config.padTokenId;
  try {
    for (let i = 0; i < ex.length; i += bs) {
      const b = padBertBatch(ex.slice(i, i + bs), { padId });
      const pred = tf.tidy(() => tf.argMax(model.forward(b), 1));
      out.push(...Array.from(pred.dataSync()));
      pred.dispose();
      Object.values(b).forEach((t) => t.dispose());
    }
  } finally {
    model.train(was);
  }
  return out;
}

function encodePairs(tokenizer: WordPieceTokenizer, texts: readonly (string | readonly [string, string])[], maxLength: number, where: string): Example[] {
  const sep = tokenizer.tokenToId('[SEP]')!;
  return texts.map((t, i) => {
    const e = typeof t === 'string' ? tokenizer.encodeForModel(t) : Array.isArray(t) && t.length === 2 ? tokenizer.encodeForModel(t[0], t[1]) : null;
    if (!e) throw new InvalidArgumentError(`${where}: example ${i} must be a string or a [text, pair] array, got ${describe(t)}`);
    if (e.ids.length <= maxLength) return { ids: e.ids, tokenTypeIds: e.tokenTypeIds };
    return { ids: [...e.ids.slice(0, maxLength - 1), sep], tokenTypeIds: e.tokenTypeIds.slice(0, maxLength) };
  });
}

/**
 * Fine-tunes a BertForSequenceClassification (from a pretrained encoder, or from scratch) on
 * labelled texts with cross-entropy, AdamW, linear warmup/decay and clipping on nn's Trainer.
 */
export async function fineTuneBertClassifier(options: FineTuneBertClassifierOptions): Promise<FineTuneBertClassifierResult> {
  const where = 'fineTuneBertClassifier';
  if (!options || !Array.isArray(options.texts) || !options.texts.length) throw new InvalidArgumentError(`${where}: texts must be a non-empty array, got ${describe(options?.texts)}`);
  if (!Array.isArray(options.labels) || options.labels.length !== options.texts.length) throw new ShapeError(`${where}: expected one label per text (${options.texts.length}), got ${describe(options.labels)}`);
  const L = loopDefaults(options, where);
  const tok = options.tokenizer;
  if (!tok || typeof tok.encodeForModel !== 'function') throw new InvalidArgumentError(`${where}: a WordPieceTokenizer is required`);
  const numLabels = options.numLabels ?? Math.max(...options.labels) + 1;
  const base = options.encoder ? options.encoder.config : bertConfig({ ...options.config, vocabSize: tok.vocabSize, padTokenId: tok.tokenToId('[PAD]') ?? 0 });
  if (base.vocabSize !== tok.vocabSize) throw new InvalidArgumentError(`${where}: the encoder has ${base.vocabSize} token ids, the tokenizer ${tok.vocabSize}`);
  const model = new BertForSequenceClassification({ ...base, numLabels }, { seed: L.seed });
  for (const [i, l] of options.labels.entries()) {
    if (!Number.isInteger(l) || l < 0 || l >= numLabels) {
      model.dispose();
      throw new InvalidArgumentError(`${where}: label ${describe(l)} of example ${i} is outside [0, ${numLabels})`);
    }
  }
  if (options.encoder) {
    const src = options.encoder instanceof BertModel ? options.encoder : options.encoder.bert;
    const report = model.bert.loadStateDict(src.stateDict(), { strict: false });
    if (report.unexpectedKeys.length || report.mismatchedKeys.length || report.missingKeys.some((k) => !k.startsWith('pooler.'))) {
      model.dispose();
      throw new InvalidArgumentError(`${where}: the encoder does not fit: ${JSON.stringify(report)}`);
    }
  }
  const maxLength = options.maxLength ?? base.maxPositionEmbeddings;
  const ex = encodePairs(tok, options.texts, maxLength, where);
  const padId = base.padTokenId;
  type ClsBatch = { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor; labels: Tensor };
  const collate = (exs: Example[], labs: readonly number[]) => (idx: number[]): ClsBatch => ({
    ...padBertBatch(idx.map((i) => exs[i]!), { padId }),
    labels: tf.tensor1d(idx.map((i) => labs[i]!), 'int32'),
  });
  const loader = new DataLoader<number, ClsBatch>({ length: ex.length, get: (i) => i }, { batchSize: Math.min(L.batchSize, ex.length), shuffle: true, seed: L.seed, dropLast: true, collate: collate(ex, options.labels) });
  const trainer = bertTrainer<ClsBatch>(model, options, L, (m, b) => (m as BertForSequenceClassification).loss(b, b.labels));
  const t0 = Date.now();
  try {
    const history = await trainer.fit(loader, { maxSteps: L.steps });
    const seconds = (Date.now() - t0) / 1000;
    const evalTexts = options.valTexts ?? options.texts;
    const evalLabels = options.valLabels ?? options.labels;
    const pred = predictBertClassifier(model, tok, evalTexts, { maxLength });
    const accuracy = pred.filter((p, i) => p === evalLabels[i]).length / pred.length;
    model.eval();
    return { model, history, accuracy, seconds };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    trainer.optimizer.dispose();
  }
}

