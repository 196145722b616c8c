import { InvalidArgumentError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { AdamW, disposeGrads, valueAndGrads } from '@nutshell/nn';
import { AdaptiveSpanGPT, GPT, generate, spanMask, type GptConfigInput } from '@nutshell/transformer';
import { describe, expect, it } from 'vitest';

const cfg: GptConfigInput = { vocabSize: 12, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 32 };
const setSpans = (m: AdaptiveSpanGPT, layer: number, vals: number[]) => m.masks[layer]!.current_val.assign(tf.tensor1d(vals));

describe('adaptive attention span', () => {
  it('the soft mask is clamp((R + z − x)/R, 0, 1), checked by hand', () => {
    const z = tf.tensor1d([2, 0.5]);
    const x = tf.tensor2d([[0, 1, 2, 3, 4, 5]]);
    const m = spanMask(z, x, 2);
    // z = 2, R = 2: (4 − x)/2 → 2, 1.5, 1, 0.5, 0, −0.5 → clamped 1, 1, 1, 0.5, 0, 0.
    // z = 0.5:      (2.5 − x)/2 → 1.25, 0.75, 0.25, −0.25, … → 1, 0.75, 0.25, 0, 0, 0.
    expect(m.arraySync()).toEqual([[[1, 1, 1, 0.5, 0, 0]], [[1, 0.75, 0.25, 0, 0, 0]]]);
    [z, x, m].forEach((t) => t.dispose());
  });

  it('with every span covering the context it is exactly the plain GPT', () => {
    const gpt = new GPT(cfg, { seed: 2 }).eval();
    const ada = new AdaptiveSpanGPT(cfg, { seed: 2, initSpan: 1 }).eval();
    for (const [n, p] of gpt.namedParameters()) ada.getParameter(n).assign(p);
    const ids = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]];
    const a = gpt.forward(ids);
    const b = ada.forward(ids);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-5);
    expect(ada.namedParameters().map(([n]) => n)).toContain('transformer.h.1.attn.adaptive_span.current_val');
    [a, b, gpt, ada].forEach((t) => t.dispose());
  });

  it("the loss's gradient in each head's span matches finite differences", () => {
    const m = new AdaptiveSpanGPT({ ...cfg, nPositions: 16 }, { seed: 3, maxSpan: 16, ramp: 3 }).eval();
    // Larger-than-init weights so attention is far from uniform and the span matters to the loss.
    m.namedParameters().forEach(([n, p], i) => n.includes('.attn.c_attn.') && p.rank === 2 && p.assign(tf.randomNormal(p.shape, 0, 0.5, 'float32', i)));
    // Spans inside the ramp region for a 16-token input (z = 4.8, 8.8; 7.2, 2.4) so the mask depends on z.
    setSpans(m, 0, [0.3, 0.55]);
    setSpans(m, 1, [0.45, 0.15]);
    const x = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5]], undefined, 'int32');
    const y = tf.tensor2d([[1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2], [7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2]], undefined, 'int32');
    const f = () => m.loss(x, y) as tf.Scalar;
    const { value, grads } = valueAndGrads(f, m);
    value.dispose();
    const eps = 4e-3;
    let checked = 0;
    m.masks.forEach((mask, l) => {
      const g = Array.from(grads.get(mask.current_val)!.dataSync());
      const base = Array.from(mask.current_val.dataSync());
      g.forEach((gh, h) => {
        const at = (delta: number) => {
          mask.current_val.assign(tf.tensor1d(base.map((v, i) => (i === h ? v + delta : v))));
          const l0 = f();
          const out = l0.dataSync()[0]!;
          l0.dispose();
          return out;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        mask.current_val.assign(tf.tensor1d(base));
        expect(Math.abs(gh), `layer ${l} head ${h}`).toBeGreaterThan(1e-3);
        expect(Math.abs(fd - gh)).toBeLessThan(0.03 * Math.abs(gh) + 2e-4);
        checked++;
      });
    });
    expect(checked).toBe(4);
    disposeGrads(grads);
    [x, y].forEach((t) => t.dispose());
    m.dispose();
  });

  it('the span penalty shrinks spans on a task that needs only the previous token, without hurting the loss', () => {
    const cycle = [3, 1, 4, 0, 5, 9, 2, 6, 8, 7];
    const tokens = Array.from({ length: 300 }, (_, i) => cycle[i % 10]!);
    const run = (lambda: number) => {
      const m = new AdaptiveSpanGPT({ vocabSize: 10, nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 16 }, { seed: 1, maxSpan: 16, ramp: 2, spanPenalty: lambda });
      const opt = new AdamW(m, { lr: 2e-2, weightDecay: 0 });
      for (let s = 0; s < 30; s++) {
        const rows = [0, 1, 2, 3].map((b) => (s * 7 + b * 13) % 250);
        const x = tf.tensor2d(rows.map((o) => tokens.slice(o, o + 16)), undefined, 'int32');
        const y = tf.tensor2d(rows.map((o) => tokens.slice(o + 1, o + 17)), undefined, 'int32');
        const { value, grads } = valueAndGrads(() => m.loss(x, y) as tf.Scalar, m);
        value.dispose();
        opt.step(grads);
        disposeGrads(grads);
        m.clampSpans();
        [x, y].forEach((t) => t.dispose());
      }
      opt.dispose();
      m.spanPenaltyWeight = 0;
      const x = tf.tensor2d([tokens.slice(0, 16)], undefined, 'int32');
      const y = tf.tensor2d([tokens.slice(1, 17)], undefined, 'int32');
      const ce = m.loss(x, y);
      const out = { ce: ce.dataSync()[0]!, spans: m.spans()[0]!, penalty: m.spanLoss() };
      [x, y, ce].forEach((t) => t.dispose());
      const p = out.penalty.dataSync()[0]!;
      out.penalty.dispose();
      m.dispose();
      return { ...out, p };
    };
    const free = run(0);
    const penalised = run(0.05);
    for (const z of free.spans) expect(z).toBeGreaterThan(0.9 * 16);
    for (const z of penalised.spans) expect(z).toBeLessThan(0.5 * 16);
    expect(penalised.p).toBeCloseTo((penalised.spans[0]! + penalised.spans[1]!) / 2, 4);
    expect(penalised.ce).toBeLessThan(0.1);
    expect(free.ce).toBeLessThan(0.1);
  });

  it('generation keeps at most ⌈max z⌉ + R keys per layer and gives the uncached logits', async () => {
    const m = new AdaptiveSpanGPT({ ...cfg, positionEmbedding: 'rope' }, { seed: 4, maxSpan: 32, ramp: 2 }).eval();
    setSpans(m, 0, [3 / 32, 1 / 32]); // z = 3, 1 → memory ⌈3 + 2⌉ = 5
    setSpans(m, 1, [6.5 / 32, 0]); // z = 6.5 → memory ⌈8.5⌉ = 9
    const seq = Array.from({ length: 30 }, (_, i) => (i * 5 + 3) % 12);
    const full = m.forward([seq]).arraySync() as number[][][];
    const cache = m.createCache();
    for (let t = 0; t < seq.length; t++) {
      const step = m.forward([[seq[t]!]], { cache }).arraySync() as number[][][];
      const d = Math.max(...step[0]![0]!.map((v, k) => Math.abs(v - full[0]![t]![k]!)));
      expect(d).toBeLessThan(1e-4);
      expect(cache.held(0)).toBeLessThanOrEqual(5);
      expect(cache.held(1)).toBeLessThanOrEqual(9);
    }
    expect(cache.length).toBe(30);
    expect([cache.held(0), cache.held(1)]).toEqual([5, 9]);
    // Bytes: 2 layers · (5 + 9 keys) · 2 (k, v) · 16 dims · 4 bytes, not 30 keys per layer.
    expect(cache.bytes).toBe((5 + 9) * 2 * 16 * 4);
    cache.dispose();
    const a = await generate(m, [1, 2, 3], { maxNewTokens: 20, greedy: true });
    const b = await generate(m, [1, 2, 3], { maxNewTokens: 20, greedy: true, useCache: false });
    expect(a.ids).toEqual(b.ids);
    m.dispose();
  });

  it('leaks no tensors (forward, loss gradients, cached generation)', async () => {
    const m = new AdaptiveSpanGPT(cfg, { seed: 5, maxSpan: 8, spanPenalty: 0.01 });
    setSpans(m, 0, [0.2, 0.4]);
    await expectNoLeak(async () => {
      const x = tf.tensor2d([[1, 2, 3, 4, 5, 6]], undefined, 'int32');
      m.forward(x).dispose();
      const { value, grads } = valueAndGrads(() => m.loss(x, x) as tf.Scalar, m);
      value.dispose();
      disposeGrads(grads);
      m.clampSpans();
      m.spanLoss().dispose();
      x.dispose();
      await generate(m, [1, 2], { maxNewTokens: 12, greedy: true });
      await generate(m, [1, 2], { maxNewTokens: 4, numBeams: 2 });
    }, 'AdaptiveSpanGPT');
    m.dispose();
  });

  it('rejects bad options', () => {
    expect(() => new AdaptiveSpanGPT(cfg, { maxSpan: 0 })).toThrow(InvalidArgumentError);
    expect(() => new AdaptiveSpanGPT(cfg, { ramp: 0 })).toThrow(InvalidArgumentError);
    expect(() => new AdaptiveSpanGPT(cfg, { initSpan: 2 })).toThrow(InvalidArgumentError);
    expect(() => new AdaptiveSpanGPT(cfg, { spanPenalty: -1 })).toThrow(InvalidArgumentError);
  });
});
