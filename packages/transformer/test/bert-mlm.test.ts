import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, Rng, ShapeError, useBackend } from '@nutshell/core';
import '@nutshell/backend-wasm';
import { expectNoLeak } from '@nutshell/core/testing';
import { AdamW, valueAndGrads } from '@nutshell/nn';
import {
  BertForMaskedLM,
  WordPieceTokenizer,
  evaluateMlm,
  fineTuneBertClassifier,
  loadBert,
  loadTokenizer,
  maskTokens,
  predictBertClassifier,
  trainBertMlm,
} from '@nutshell/transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'nutshell-bert-mlm-'));
// Training runs on the wasm backend (~30× tfjs cpu); the masking statistics need no backend.
beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('maskTokens (BERT 15% · 80/10/10)', () => {
  const V = 1000;
  const CLS = 2;
  const SEP = 3;
  const PAD = 0;
  const MASK = 4;
  const rng = new Rng('corpus');
  // 600 sequences of 60 tokens: [CLS] body [SEP] [PAD]…, body ids in [5, V).
  const seqs = Array.from({ length: 600 }, () => {
    const n = 30 + rng.int(29);
    return [CLS, ...Array.from({ length: n }, () => 5 + rng.int(V - 5)), SEP, ...Array(58 - n).fill(PAD)];
  });
  const opts = { vocabSize: V, maskTokenId: MASK, specialIds: [CLS, SEP, PAD], seed: 123 };

  it('selects 15% of the non-special tokens, then 80% [MASK] / 10% random / 10% unchanged, within 4σ', () => {
    const { inputIds, labels } = maskTokens(seqs, opts);
    let eligible = 0;
    let selected = 0;
    let masked = 0;
    let unchanged = 0;
    let random = 0;
    const randomIds = new Set<number>();
    // Counted, not asserted per token (36k expect calls are slow).
    let violations = 0;
    seqs.forEach((s, i) =>
      s.forEach((id, j) => {
        const lab = labels[i]![j]!;
        const got = inputIds[i]![j]!;
        if (id === CLS || id === SEP || id === PAD) {
          // Special tokens are never selected and never altered.
          if (lab !== -100 || got !== id) violations++;
          return;
        }
        eligible++;
        if (lab === -100) {
          if (got !== id) violations++;
          return;
        }
        selected++;
        if (lab !== id) violations++;
        if (got === MASK) masked++;
        else if (got === id) unchanged++;
        else {
          random++;
          randomIds.add(got);
        }
      }),
    );
    expect(violations).toBe(0);
    const within = (k: number, n: number, p: number) => Math.abs(k / n - p) < 4 * Math.sqrt((p * (1 - p)) / n);
    expect(eligible).toBeGreaterThan(20000);
    expect(within(selected, eligible, 0.15)).toBe(true);
    // A random draw equals the original (or [MASK]) with probability 1/V: negligible at V = 1000.
    expect(within(masked, selected, 0.8)).toBe(true);
    expect(within(unchanged, selected, 0.1)).toBe(true);
    expect(within(random, selected, 0.1)).toBe(true);
    expect(randomIds.size).toBeGreaterThan(200); // replacements are spread over the vocabulary
  });

  it('is deterministic per seed and respects the probabilities it is given', () => {
    const a = maskTokens(seqs.slice(0, 20), opts);
    expect(maskTokens(seqs.slice(0, 20), opts)).toEqual(a);
    expect(maskTokens(seqs.slice(0, 20), { ...opts, seed: 124 })).not.toEqual(a);
    const none = maskTokens(seqs.slice(0, 20), { ...opts, mlmProbability: 0 });
    expect(none.inputIds).toEqual(seqs.slice(0, 20));
    expect(none.labels.flat().every((l) => l === -100)).toBe(true);
    const all = maskTokens(seqs.slice(0, 20), { ...opts, mlmProbability: 1, maskReplaceProbability: 1, randomReplaceProbability: 0 });
    all.inputIds.forEach((r, i) => r.forEach((id, j) => expect(id).toBe([CLS, SEP, PAD].includes(seqs[i]![j]!) ? seqs[i]![j] : MASK)));
  });

  it('throws InvalidArgumentError on bad options and ids', () => {
    expect(() => maskTokens(seqs.slice(0, 2), { ...opts, mlmProbability: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => maskTokens(seqs.slice(0, 2), { ...opts, maskReplaceProbability: 0.95, randomReplaceProbability: 0.1 })).toThrow(InvalidArgumentError);
    expect(() => maskTokens(seqs.slice(0, 2), { ...opts, maskTokenId: V })).toThrow(InvalidArgumentError);
    expect(() => maskTokens([[1, V]], opts)).toThrow(InvalidArgumentError);
  });
});

// The copy task: three copies of three letters, "[CLS] x y z [SEP] x y z [SEP] x y z [SEP]"; a masked
// letter can only be recovered from its copies, through attention by position.
const letters = 'abcdefghijkl'.split('');
const letterTok = new WordPieceTokenizer({ vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...letters] });
function copyTexts(n: number, seed: string): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const w = Array.from({ length: 3 }, () => letters[rng.int(letters.length)]).join(' ');
    return `${w} [SEP] ${w} [SEP] ${w}`;
  });
}
const copyConfig = { hiddenSize: 32, numAttentionHeads: 2, numHiddenLayers: 1, intermediateSize: 64, maxPositionEmbeddings: 16, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, initializerRange: 0.1 };

describe('trainBertMlm', () => {
  let copyModel: BertForMaskedLM | undefined;
  afterAll(() => copyModel?.dispose());

  it('learns the copy task: ≥ 95% masked-token accuracy on held-out sequences', async () => {
    const r = await trainBertMlm({ texts: copyTexts(4000, 'train'), valTexts: copyTexts(300, 'val'), tokenizer: letterTok, config: copyConfig, steps: 150, batchSize: 32, lr: 1e-2, seed: 1, evalEvery: 150 });
    copyModel = r.model;
    expect(r.valMasked).toBeGreaterThan(300);
    expect(r.valAccuracy).toBeGreaterThanOrEqual(0.95);
    // Chance is 1/12 per letter; the loss fell from about ln 12.
    expect(r.history.steps[0]!.loss).toBeGreaterThan(2);
    expect(r.valLoss).toBeLessThan(0.5);
  });

  it('loss decreases on a toy corpus, with a WordPiece vocabulary trained on it; files reload', async () => {
    const sentences = ['the cat sat on the mat', 'the dog sat on the log', 'a cat and a dog met on a mat', 'the bird sat on the dog', 'a dog and a cat sat on the log'];
    const texts = Array.from({ length: 300 }, (_, i) => sentences[i % sentences.length]!);
    const out = join(tmp, 'toy');
    const r = await trainBertMlm({ texts, vocabSize: 60, config: { hiddenSize: 32, numAttentionHeads: 2, numHiddenLayers: 1, intermediateSize: 64, maxPositionEmbeddings: 16, initializerRange: 0.1 }, steps: 40, batchSize: 16, lr: 5e-3, seed: 2, evalEvery: 10, outDir: out });
    const evals = r.history.evals.map((e) => e.metrics.loss!);
    expect(evals.length).toBe(4);
    expect(evals.at(-1)!).toBeLessThan(evals[0]!);
    expect(r.valLoss).toBeLessThan(0.6 * Math.log(r.tokenizer.vocabSize));
    expect(existsSync(join(out, 'vocab.txt'))).toBe(true);
    const back = (await loadBert(out)) as BertForMaskedLM;
    const tok = (await loadTokenizer(out)) as WordPieceTokenizer;
    expect(tok.encode('the cat sat')).toEqual(r.tokenizer.encode('the cat sat'));
    const ids = [tok.encodeForModel('the [MASK] sat on the mat').ids];
    const a = back.forward(ids);
    const b = r.model.forward(ids);
    expect(Math.max(...Array.from(a.dataSync(), (v, i) => Math.abs(v - b.dataSync()[i]!)))).toBe(0);
    [a, b].forEach((t) => t.dispose());
    back.dispose();
    r.model.dispose();
  });

  it('fine-tunes a classifier from the pretrained encoder', async () => {
    // Label: is the first letter among a–f? The [CLS] state has to look at position 1.
    const label = (t: string) => ('abcdef'.includes(t[0]!) ? 1 : 0);
    const train = copyTexts(600, 'cls-train');
    const val = copyTexts(200, 'cls-val');
    const r = await fineTuneBertClassifier({ texts: train, labels: train.map(label), valTexts: val, valLabels: val.map(label), tokenizer: letterTok, encoder: copyModel!, steps: 60, batchSize: 32, lr: 5e-3, seed: 3 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.9);
    // The encoder weights were copied, not shared.
    expect(r.model.bert.embeddings.word_embeddings.weight).not.toBe(copyModel!.bert.embeddings.word_embeddings.weight);
    expect(predictBertClassifier(r.model, letterTok, ['a b c [SEP] a b c [SEP] a b c', 'k b c [SEP] k b c [SEP] k b c'])).toEqual([1, 0]);
    r.model.dispose();
  });

  it('typed errors for bad configs and data', async () => {
    const texts = copyTexts(20, 'bad');
    await expect(trainBertMlm({ texts, tokenizer: letterTok, config: { hiddenSize: 30, numAttentionHeads: 4 }, steps: 1 })).rejects.toThrow(InvalidArgumentError);
    await expect(trainBertMlm({ texts, tokenizer: letterTok, config: { maxPositionEmbeddings: 8 }, maxLength: 9, steps: 1 })).rejects.toThrow(InvalidArgumentError);
    await expect(trainBertMlm({ texts: [], tokenizer: letterTok })).rejects.toThrow(InvalidArgumentError);
    await expect(trainBertMlm({ texts, tokenizer: letterTok, steps: 0 })).rejects.toThrow(InvalidArgumentError);
    const noMask = new WordPieceTokenizer({ vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a'] });
    await expect(trainBertMlm({ texts: ['a a'], tokenizer: noMask, steps: 1 })).rejects.toThrow(/lacks \[MASK\]/);
    await expect(fineTuneBertClassifier({ texts, labels: [0, 1], tokenizer: letterTok })).rejects.toThrow(ShapeError);
    await expect(fineTuneBertClassifier({ texts, labels: texts.map(() => 3), numLabels: 2, tokenizer: letterTok })).rejects.toThrow(InvalidArgumentError);
  });

  it('a training step and a whole (short) training run leak no tensors', async () => {
    const model = new BertForMaskedLM({ ...copyConfig, vocabSize: letterTok.vocabSize }, { seed: 4 });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    const batch = { inputIds: [[2, 5, 4, 7, 3], [2, 4, 6, 3, 0]], attentionMask: [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]] };
    const labels = [[-100, -100, 6, -100, -100], [-100, 9, -100, -100, -100]];
    const step = () => {
      const { value, grads } = valueAndGrads(() => model.loss(batch, labels), model);
      opt.step(grads);
      grads.forEach((g) => g.dispose());
      value.dispose();
    };
    step(); // AdamW creates its moments on the first step
    await expectNoLeak(step);
    await expectNoLeak(() => evaluateMlm(model, [{ ...batch, labels }]));
    opt.dispose();
    model.dispose();
    await expectNoLeak(async () => {
      const r = await trainBertMlm({ texts: copyTexts(40, 'leak'), tokenizer: letterTok, config: copyConfig, steps: 3, batchSize: 8, seed: 5 });
      r.model.dispose();
    });
  });
});
