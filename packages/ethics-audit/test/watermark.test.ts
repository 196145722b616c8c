import { Rng, ShapeError, tf, type LogitsProcessor, type Tensor2D } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { GreenListWatermark, GreenLists, byteTokenizer, detectWatermark, detectWatermarkText } from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const V = 1000;
const KEY = 'test-key';

/** A toy language model: random logits (seeded), sampled at temperature 1, optionally watermarked. */
function generate(batch: number, steps: number, seed: string, processor?: LogitsProcessor): number[][] {
  const rng = new Rng(seed);
  const seqs = Array.from({ length: batch }, () => [rng.int(V)]);
  for (let s = 0; s < steps; s++) {
    const buf = new Float32Array(batch * V);
    for (let i = 0; i < buf.length; i++) buf[i] = 2 * rng.normal();
    const raw = tf.tensor2d(buf, [batch, V]);
    const logits = processor ? processor.process(seqs, raw) : raw;
    const z = logits.dataSync();
    tf.dispose([raw, logits]);
    // Softmax in plain JS: the toy model's sampler is not what is under test.
    const p = new Float64Array(batch * V);
    for (let b = 0; b < batch; b++) {
      let max = -Infinity, sum = 0;
      for (let t = 0; t < V; t++) max = Math.max(max, z[b * V + t]!);
      for (let t = 0; t < V; t++) sum += (p[b * V + t] = Math.exp(z[b * V + t]! - max));
      for (let t = 0; t < V; t++) p[b * V + t]! /= sum;
    }
    for (let b = 0; b < batch; b++) {
      let u = rng.uniform(), t = 0;
      for (; t < V - 1; t++) { u -= p[b * V + t]!; if (u <= 0) break; }
      seqs[b]!.push(t);
    }
  }
  return seqs;
}

describe('green-list watermark (Kirchenbauer et al. 2023)', () => {
  const wm = new GreenListWatermark({ key: KEY, vocabSize: V });

  it('green lists hold ⌊γ|V|⌋ tokens, depend on key and previous token, and are deterministic', () => {
    const lists = new GreenLists(KEY, V, 0.25);
    const m = lists.mask(7);
    expect(m.reduce((a, b) => a + b, 0)).toBe(250);
    expect(new GreenLists(KEY, V, 0.25).mask(7)).toEqual(m);
    expect(lists.mask(8)).not.toEqual(m);
    expect(new GreenLists('other', V, 0.25).mask(7)).not.toEqual(m);
  });

  it('adds δ to exactly the green logits of each row', async () => {
    const logits = tf.zeros([2, V]) as Tensor2D;
    const out = wm.process([[1, 7], []], logits);
    const v = out.arraySync();
    const mask = wm.lists.mask(7);
    v[0]!.forEach((x, t) => expect(x).toBe(mask[t] ? 2 : 0));
    expect(v[1]!.every((x) => x === 0)).toBe(true);
    tf.dispose([logits, out]);
    await expectNoLeak(() => {
      const l = tf.zeros([1, V]) as Tensor2D;
      const o = wm.process([[3]], l);
      l.dispose();
      return o;
    });
    expect(() => wm.process([[1]], tf.zeros([1, 10]) as Tensor2D)).toThrow(ShapeError);
  });

  it('200 watermarked tokens are detected (z > 4) in ≥ 99% of 100 seeded trials; unwatermarked ≤ 1%; 10% substitution keeps power', () => {
    const marked = generate(50, 200, 'marked-a', wm).concat(generate(50, 200, 'marked-b', wm));
    const plain = generate(50, 200, 'plain-a').concat(generate(50, 200, 'plain-b'));
    const det = (seq: number[]) => detectWatermark(seq, { key: KEY, vocabSize: V, promptLength: 1 });
    const tp = marked.map(det);
    const fp = plain.map(det);
    expect(tp.every((d) => d.scored === 200)).toBe(true);
    expect(tp.filter((d) => d.detected).length).toBeGreaterThanOrEqual(99);
    expect(fp.filter((d) => d.detected).length).toBeLessThanOrEqual(1);
    expect(Math.min(...tp.map((d) => d.z))).toBeGreaterThan(4);
    expect(Math.abs(fp.reduce((a, d) => a + d.z, 0) / fp.length)).toBeLessThan(0.4);
    // Attack: replace 10% of the generated tokens with random ones.
    const rng = new Rng('attack');
    const attacked = marked.map((s) => s.map((t, i) => (i > 0 && rng.uniform() < 0.1 ? rng.int(V) : t)));
    const power = attacked.map(det).filter((d) => d.detected).length / attacked.length;
    expect(power).toBeGreaterThanOrEqual(0.95);
    // Wrong key: nothing detected.
    expect(marked.map((s) => detectWatermark(s, { key: 'wrong', vocabSize: V, promptLength: 1 })).filter((d) => d.detected).length).toBeLessThanOrEqual(1);
  });

  it('only generated tokens count and repeated bigrams can be ignored', () => {
    const seq = generate(1, 60, 'short', wm)[0]!;
    const a = detectWatermark(seq, { key: KEY, vocabSize: V, promptLength: 11 });
    expect(a.scored).toBe(50);
    const rep = [5, ...Array.from({ length: 40 }, (_, i) => (i % 2 ? 5 : 9))];
    expect(detectWatermark(rep, { key: KEY, vocabSize: V, ignoreRepeatedNgrams: true }).scored).toBe(2);
    expect(() => detectWatermark([1, V], { key: KEY, vocabSize: V })).toThrow(/not an id/);
    expect(detectWatermarkText('hello world', byteTokenizer, { key: KEY }).scored).toBe(10);
  });
});
