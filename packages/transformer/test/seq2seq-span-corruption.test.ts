import { InvalidArgumentError } from '@nutshell/core';
import { Seq2seqVocab, randomSpansNoiseMask, roundHalfEven, spanCorruption, toyTaskData, toyTaskPair } from '@nutshell/transformer';
import { describe, expect, it } from 'vitest';

/** Runs of true in a mask. */
const runs = (mask: boolean[]): number[] => {
  const out: number[] = [];
  mask.forEach((m, i) => {
    if (!m) return;
    if (i === 0 || !mask[i - 1]) out.push(0);
    out[out.length - 1]!++;
  });
  return out;
};

describe('T5 span corruption', () => {
  it('rounds like numpy (half to even)', () => {
    expect([0.5, 1.5, 2.5, 4.5, 2.4, 2.6, 15].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 15]);
  });

  it('noise count and span count follow random_spans_noise_mask exactly for many lengths and seeds', () => {
    for (const L of [2, 3, 7, 10, 20, 30, 50, 100, 114, 512]) {
      const noise = Math.min(Math.max(roundHalfEven(L * 0.15), 1), L - 1);
      const spans = Math.max(roundHalfEven(noise / 3), 1);
      for (let seed = 0; seed < 20; seed++) {
        const m = randomSpansNoiseMask(L, { seed });
        expect(m).toHaveLength(L);
        expect(m.filter(Boolean)).toHaveLength(noise);
        expect(runs(m)).toHaveLength(spans);
        // Non-noise comes first and noise last (interleaving starts with a non-noise span).
        expect(m[0]).toBe(false);
        expect(m[L - 1]).toBe(true);
      }
    }
    // The definition's worked numbers: 100 tokens → 15 noise in 5 spans; 30 → round(4.5) = 4 in 1 span.
    expect(randomSpansNoiseMask(100, { seed: 1 }).filter(Boolean)).toHaveLength(15);
    expect(runs(randomSpansNoiseMask(100, { seed: 1 }))).toHaveLength(5);
    expect(randomSpansNoiseMask(30, { seed: 1 }).filter(Boolean)).toHaveLength(4);
  });

  it('noise density over a corpus is 0.15 and the mean span length is 3', () => {
    let noise = 0;
    let total = 0;
    const spanLengths: number[] = [];
    for (let seed = 0; seed < 200; seed++) {
      const m = randomSpansNoiseMask(200, { seed });
      noise += m.filter(Boolean).length;
      total += m.length;
      spanLengths.push(...runs(m));
    }
    expect(noise / total).toBe(0.15);
    expect(spanLengths.reduce((a, b) => a + b, 0) / spanLengths.length).toBe(3);
    // Spans vary in length (random segmentation), not all exactly 3.
    expect(new Set(spanLengths).size).toBeGreaterThan(3);
  });

  it('is seeded: same seed same mask, different seeds differ', () => {
    expect(randomSpansNoiseMask(100, { seed: 'a' })).toEqual(randomSpansNoiseMask(100, { seed: 'a' }));
    expect(randomSpansNoiseMask(100, { seed: 'a' })).not.toEqual(randomSpansNoiseMask(100, { seed: 'b' }));
  });

  it('inputs and targets carry matching sentinels (vocab−1−i) and together restore the sequence', () => {
    const vocab = Seq2seqVocab.fromText('abcdefghijklmnopqrstuvwxyz ', 10);
    const text = 'thank you for inviting me to your party last week';
    const ids = vocab.encode(text);
    for (let seed = 0; seed < 10; seed++) {
      const ex = spanCorruption(ids, { vocabSize: vocab.vocabSize, seed });
      expect(ex.inputs.at(-1)).toBe(1);
      expect(ex.targets.at(-1)).toBe(1);
      const sIn = ex.inputs.filter((id) => vocab.isSentinel(id));
      const sOut = ex.targets.filter((id) => vocab.isSentinel(id));
      expect(sIn).toEqual(Array.from({ length: ex.numSpans }, (_, i) => vocab.vocabSize - 1 - i));
      expect(sOut).toEqual(sIn);
      expect(ex.inputs.length + ex.targets.length).toBe(ids.length + 2 * ex.numSpans + 2);
      // Put every span back at its sentinel.
      const spans = new Map<number, number[]>();
      let cur = -1;
      for (const id of ex.targets.slice(0, -1)) {
        if (vocab.isSentinel(id)) spans.set((cur = id), []);
        else spans.get(cur)!.push(id);
      }
      const restored = ex.inputs.slice(0, -1).flatMap((id) => (vocab.isSentinel(id) ? spans.get(id)! : [id]));
      expect(vocab.decode(restored)).toBe(text);
      expect(vocab.decode(ex.inputs)).toMatch(/<extra_id_0>/);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => randomSpansNoiseMask(1)).toThrow(InvalidArgumentError);
    expect(() => randomSpansNoiseMask(10, { noiseDensity: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => randomSpansNoiseMask(10, { meanNoiseSpanLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => spanCorruption([1, 2, 3])).toThrow(/vocabSize/);
  });
});

describe('toy text-to-text tasks', () => {
  it('prefix the task and compute the answer', () => {
    expect(toyTaskPair('copy', '3141')).toEqual({ source: 'copy: 3141', target: '3141', task: 'copy' });
    expect(toyTaskPair('reverse', '3141').target).toBe('1413');
    expect(toyTaskPair('sort', '3141').target).toBe('1134');
    const data = toyTaskData({ n: 30, minLength: 2, maxLength: 4, seed: 1 });
    expect(data.map((d) => d.task).slice(0, 3)).toEqual(['copy', 'reverse', 'sort']);
    for (const d of data) expect(d.source).toMatch(/^(copy|reverse|sort): \d{2,4}$/);
    const held = toyTaskData({ n: 30, minLength: 2, maxLength: 4, seed: 2, exclude: new Set(data.map((d) => d.source.split(': ')[1]!)) });
    for (const d of held) expect(data.some((x) => x.source.endsWith(` ${d.source.split(': ')[1]}`))).toBe(false);
  });

  it('the character vocabulary round-trips and lays out specials like T5', () => {
    const v = Seq2seqVocab.fromText('0123456789: copyreversesort', 3);
    expect(v.vocabSize).toBe(3 + new Set('0123456789: copyreversesort').size + 3);
    expect(v.sentinel(0)).toBe(v.vocabSize - 1);
    expect(v.decode(v.encode('sort: 3141', { eos: true }))).toBe('sort: 3141');
    expect(v.decode([...v.encode('12'), 1, ...v.encode('99')])).toBe('12');
    expect(v.encode('x')).toEqual([2]);
    expect(Seq2seqVocab.fromJSON(v.toJSON()).encode('sort: 3')).toEqual(v.encode('sort: 3'));
  });
});
