import { InvalidArgumentError, useBackend } from '@nutshell/core';
import '@nutshell/backend-wasm';
import { expectNoLeak } from '@nutshell/core/testing';
import { Seq2seqVocab, T5, TOY_TASKS, encodePairs, exactMatch, generateSeq2seq, spanCorruption, toyTaskData, trainSeq2seq } from '@nutshell/transformer';
import { beforeAll, describe, expect, it } from 'vitest';

// Training is matmul-bound: the wasm backend (SIMD) does it ~6× cheaper than tfjs' JS cpu backend.
// Each test file runs in its own process, so this does not change other files' backend.
beforeAll(async () => {
  await useBackend('wasm');
});

const vocab = Seq2seqVocab.fromText(`0123456789: ${TOY_TASKS.join('')}`, 8);
const small = { vocabSize: vocab.vocabSize, dModel: 32, numHeads: 2, dFf: 64, numLayers: 2, relativeAttentionNumBuckets: 8, relativeAttentionMaxDistance: 16 };

describe('trainSeq2seq (text-to-text with task prefixes)', () => {
  it('learns copy / reverse / sort of short digit strings (the full ≥ 95% run is bench/seq2seq-toy.mjs)', async () => {
    const data = { minLength: 2, maxLength: 3, alphabet: '012345' };
    const train = encodePairs(vocab, toyTaskData({ n: 1500, seed: 'train', ...data }));
    const test = encodePairs(vocab, toyTaskData({ n: 150, seed: 'test', ...data }));
    const before = new T5(small, { seed: 1 });
    const base = await exactMatch(before, test);
    before.dispose();
    const r = await trainSeq2seq({ train, config: small, steps: 500, batchSize: 32, lr: 3e-3, seed: 1 });
    const em = await exactMatch(r.model, test);
    expect(base.accuracy).toBeLessThan(0.05);
    expect(em.accuracy).toBeGreaterThanOrEqual(0.85);
    for (const task of TOY_TASKS) expect(em.byTask[task], task).toBeGreaterThanOrEqual(0.75);
    expect(r.history.steps.at(-1)!.loss).toBeLessThan(0.3 * r.history.steps[0]!.loss);
    // Text in, text out: decode what the model answers for a prefixed prompt.
    const out = await generateSeq2seq(r.model, vocab.encode('reverse: 501', { eos: true }), { maxNewTokens: 6 });
    expect(out.finishReason).toBe('eos');
    expect(vocab.decode(out.ids)).toMatch(/^\d+$/);
    r.model.dispose();
  });

  it('pretrains on span corruption: the loss falls', async () => {
    const text = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat ';
    const v = Seq2seqVocab.fromText(text, 20);
    const ids = v.encode(text.repeat(20));
    const pairs = Array.from({ length: 64 }, (_, i) => {
      const o = (i * 37) % (ids.length - 40);
      const ex = spanCorruption(ids.slice(o, o + 40), { vocabSize: v.vocabSize, seed: i });
      return { input: ex.inputs, target: ex.targets };
    });
    const r = await trainSeq2seq({ train: pairs, config: { ...small, vocabSize: v.vocabSize }, steps: 30, batchSize: 16, lr: 3e-3, seed: 2 });
    const losses = r.history.steps.map((s) => s.loss);
    expect(losses.slice(-5).reduce((a, b) => a + b, 0) / 5).toBeLessThan(0.7 * (losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3));
    r.model.dispose();
  });

  it('a training run leaks no tensors', async () => {
    const train = encodePairs(vocab, toyTaskData({ n: 16, seed: 1 }));
    await expectNoLeak(async () => {
      const r = await trainSeq2seq({ train, val: train.slice(0, 4), config: { ...small, numLayers: 1 }, steps: 2, batchSize: 8, evalEvery: 2 });
      await exactMatch(r.model, train.slice(0, 4));
      r.model.dispose();
    }, 'trainSeq2seq');
  });

  it('rejects bad inputs', async () => {
    await expect(trainSeq2seq({ train: [], config: small })).rejects.toThrow(InvalidArgumentError);
    await expect(trainSeq2seq({ train: [{ input: [3], target: [] }], config: small })).rejects.toThrow(InvalidArgumentError);
    await expect(trainSeq2seq({ train: [{ input: [3], target: [4] }] })).rejects.toThrow(/model or a config/);
    await expect(trainSeq2seq({ train: [{ input: [3], target: [999] }], config: small, steps: 1 })).rejects.toThrow(InvalidArgumentError);
  });
});
