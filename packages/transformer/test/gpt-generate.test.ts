import { InvalidArgumentError, tf, type LogitsProcessor, type Tensor2D } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { GreenListWatermark, detectWatermark } from '@nutshell/ethics-audit';
import { CharTokenizer, GPT, generate, repetitionPenaltyRow, topKRow, topPRow, softmaxRow, topKProcessor } from '@nutshell/transformer';
import { describe, expect, it } from 'vitest';

const V = 30;
const model = new GPT({ vocabSize: V, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 16 }, { seed: 3 });

function lastLogits(ids: number[]): number[] {
  const t = model.forward([ids.slice(-16)]);
  const a = (t.arraySync() as number[][][])[0]!.at(-1)!;
  t.dispose();
  return a;
}
const argmax = (r: number[]) => r.indexOf(Math.max(...r));

describe('generate', () => {
  it('greedy decoding equals a hand-written argmax loop over uncached forwards, also past the context (sliding window)', async () => {
    const ids = [1, 2, 3];
    const ref = [...ids];
    for (let i = 0; i < 20; i++) ref.push(argmax(lastLogits(ref)));
    const r = await generate(model, ids, { maxNewTokens: 20, greedy: true });
    expect(r.sequence).toEqual(ref);
    expect(r.ids).toEqual(ref.slice(3));
    expect(r.finishReason).toBe('length');
    expect((await generate(model, ids, { maxNewTokens: 20, temperature: 0, useCache: false })).ids).toEqual(r.ids);
    expect((await generate(model, ids, { maxNewTokens: 20, topK: 1, seed: 5 })).ids).toEqual(r.ids);
  });

  it('samples reproducibly from a seed, identically with and without the KV cache', async () => {
    const o = { maxNewTokens: 24, temperature: 1.3, topK: 12, topP: 0.95, seed: 'abc' };
    const a = await generate(model, [4, 5], o);
    const b = await generate(model, [4, 5], { ...o, useCache: false });
    const c = await generate(model, [4, 5], { ...o, seed: 'abd' });
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
    expect(new Set(a.ids).size).toBeGreaterThan(3);
  });

  it('sampling frequencies follow softmax(logits / T) (chi-square)', async () => {
    const row = lastLogits([7]);
    const T = 2;
    const p = softmaxRow(Float32Array.from(row.map((v) => v / T)));
    const counts = new Array(V).fill(0);
    const n = 600;
    for (let i = 0; i < n; i++) counts[(await generate(model, [7], { maxNewTokens: 1, temperature: T, seed: i })).ids[0]!]++;
    let chi = 0;
    let df = -1;
    for (let v = 0; v < V; v++) if (p[v]! * n >= 5) {
      chi += (counts[v] - p[v]! * n) ** 2 / (p[v]! * n);
      df++;
    }
    expect(chi).toBeLessThan(df + 4 * Math.sqrt(2 * df) + 10);
  });

  it('implements HF rules for top-k, top-p and the repetition penalty', () => {
    const r = Float32Array.from([1, 3, 2, 3, -1]);
    topKRow(r, 2);
    expect([...r]).toEqual([-Infinity, 3, -Infinity, 3, -Infinity]);
    const p = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    topPRow(p, 0.8);
    expect(p.map((v) => (v === -Infinity ? 0 : 1))).toEqual(Float32Array.from([1, 1, 0, 0]));
    const q = Float32Array.from([2, -2, 1]);
    repetitionPenaltyRow(q, [0, 1, 0], 2);
    expect([...q]).toEqual([1, -4, 1]);
  });

  it('stops on stop tokens, stop strings and the streaming callback, and streams text', async () => {
    const greedy = (await generate(model, [1], { maxNewTokens: 12, greedy: true })).ids;
    const r = await generate(model, [1], { maxNewTokens: 12, greedy: true, stopTokens: [greedy[4]!] });
    expect(r.ids).toEqual(greedy.slice(0, greedy.indexOf(greedy[4]!) + 1));
    expect(r.finishReason).toBe('stop-token');
    const tok = new CharTokenizer({ chars: 'abcdefghijklmnopqrstuvwxyz ,.!'.split('') });
    const full = (await generate(model, 'ab', { maxNewTokens: 12, greedy: true, tokenizer: tok })).text!;
    const stop = full.slice(5, 7);
    const s = await generate(model, 'ab', { maxNewTokens: 12, greedy: true, tokenizer: tok, stop: [stop] });
    expect(s.finishReason).toBe('stop');
    expect(s.text).toBe(full.slice(0, full.indexOf(stop)));
    const streamed: string[] = [];
    const cb = await generate(model, 'ab', { maxNewTokens: 12, greedy: true, tokenizer: tok, onToken: (t) => (streamed.push(t.text ?? ''), t.index < 5) });
    expect(cb.finishReason).toBe('callback');
    expect(cb.ids).toHaveLength(6);
    expect(streamed.join('')).toBe(full.slice(0, 6));
  });

  it('beam search with enough beams finds the most likely continuation (checked by exhaustive search)', async () => {
    const small = new GPT({ vocabSize: 5, nLayer: 1, nHead: 1, nEmbd: 8, nPositions: 8 }, { seed: 11 });
    const prompt = [2, 0];
    let best = { seq: [] as number[], lp: -Infinity };
    for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) for (let c = 0; c < 5; c++) {
      const [lp] = await small.scoreTokens([[...prompt, a, b, c]]);
      const s = lp![1]! + lp![2]! + lp![3]!;
      if (s > best.lp) best = { seq: [a, b, c], lp: s };
    }
    const r = await generate(small, prompt, { maxNewTokens: 3, numBeams: 25, lengthPenalty: 0 });
    expect(r.ids).toEqual(best.seq);
    expect(r.score).toBeCloseTo(best.lp, 4);
    const nc = await generate(small, prompt, { maxNewTokens: 3, numBeams: 25, lengthPenalty: 0, useCache: false });
    expect(nc.ids).toEqual(best.seq);
    // Few beams: still a valid hypothesis whose score is its own log-probability.
    const two = await generate(small, prompt, { maxNewTokens: 3, numBeams: 2, lengthPenalty: 0 });
    const [lp2] = await small.scoreTokens([two.sequence]);
    expect(two.score).toBeCloseTo(lp2![1]! + lp2![2]! + lp2![3]!, 4);
    small.dispose();
  });

  it('applies pluggable logits processors: the ethics-audit green-list watermark is detectable', async () => {
    const wm = new GreenListWatermark({ key: 'k', vocabSize: V, gamma: 0.25, delta: 8 });
    const seen: number[] = [];
    const spy: LogitsProcessor = { name: 'spy', process: (ids, l: Tensor2D) => (seen.push(ids[0]!.length), tf.clone(l)) };
    const marked = await generate(model, [1, 2], { maxNewTokens: 60, seed: 1, temperature: 1, logitsProcessors: [wm, spy] });
    expect(seen.slice(0, 3)).toEqual([2, 3, 4]);
    const plain = await generate(model, [1, 2], { maxNewTokens: 60, seed: 1, temperature: 1 });
    const zMarked = detectWatermark(marked.sequence, { key: 'k', vocabSize: V, gamma: 0.25, promptLength: 2 }).z;
    const zPlain = detectWatermark(plain.sequence, { key: 'k', vocabSize: V, gamma: 0.25, promptLength: 2 }).z;
    expect(zMarked).toBeGreaterThan(4);
    expect(zPlain).toBeLessThan(4);
    // core-contract wrappers of the built-ins work the same way.
    const k1 = await generate(model, [1, 2], { maxNewTokens: 8, seed: 2, logitsProcessors: [topKProcessor(1)] });
    expect(k1.ids).toEqual((await generate(model, [1, 2], { maxNewTokens: 8, greedy: true })).ids);
  });

  it('leaks no tensors (sampling, cache off, beam search, processors)', async () => {
    await expectNoLeak(() => generate(model, [1, 2, 3], { maxNewTokens: 20, seed: 1, topP: 0.9 }), 'sample');
    await expectNoLeak(() => generate(model, [1, 2, 3], { maxNewTokens: 5, useCache: false }), 'no cache');
    await expectNoLeak(() => generate(model, [1, 2, 3], { maxNewTokens: 20, numBeams: 3 }), 'beams');
    await expectNoLeak(() => generate(model, [1], { maxNewTokens: 4, logitsProcessors: [topKProcessor(3)] }), 'processors');
  });

  it('rejects bad prompts and options with typed errors', async () => {
    await expect(generate(model, [], {})).rejects.toThrow(InvalidArgumentError);
    await expect(generate(model, [1, V], {})).rejects.toThrow(/outside the vocabulary/);
    await expect(generate(model, Array(17).fill(1), {})).rejects.toThrow(/context of 16/);
    await expect(generate(model, 'text', {})).rejects.toThrow(/tokenizer/);
    await expect(generate(model, [1], { temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(model, [1], { topP: 0 })).rejects.toThrow(/topP/);
    await expect(generate(model, [1], { numBeams: 0 })).rejects.toThrow(/numBeams/);
    await expect(generate(model, [1], { stop: ['x'] })).rejects.toThrow(/tokenizer/);
  });
});
