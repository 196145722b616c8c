import { InvalidArgumentError, Rng, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { AdamW } from '@nutshell/nn';
import { GPT, SlimmableGPT, generate, sandwichStep, sandwichWidths, trainSlimmable, type GptConfigInput } from '@nutshell/transformer';
import { describe, expect, it } from 'vitest';

const cfg: GptConfigInput = { vocabSize: 23, nLayer: 2, nHead: 4, nEmbd: 16, nInner: 24, nPositions: 12 };
const ids = [[1, 5, 9, 2, 22, 7, 7, 3], [4, 4, 0, 19, 8, 11, 6, 2]];

const bits = (t: tf.Tensor): Uint32Array => {
  const out = new Uint32Array(Float32Array.from(t.dataSync()).buffer);
  t.dispose();
  return out;
};

/** An independent float64 GPT-2 forward on plain arrays using only the first h heads and f MLP channels. */
function referenceLogits(model: GPT, seqs: number[][], h: number, f: number): number[][][] {
  const c = model.config;
  const C = c.nEmbd;
  const d = C / c.nHead;
  const P = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, { v: Array.from(p.dataSync()), s: p.shape }]));
  const W = (n: string) => P[`transformer.${n}`]!;
  const lin = (x: number[], w: { v: number[]; s: number[] }, b: { v: number[] } | undefined, colsIdx: number[], rows: number) =>
    colsIdx.map((j) => x.slice(0, rows).reduce((s, xi, i) => s + xi * w.v[i * w.s[1]! + j]!, b ? b.v[j]! : 0));
  const ln = (x: number[], n: string) => {
    const mu = x.reduce((a, b) => a + b, 0) / C;
    const va = x.reduce((a, b) => a + (b - mu) ** 2, 0) / C;
    return x.map((xi, i) => ((xi - mu) / Math.sqrt(va + c.layerNormEps)) * W(`${n}.weight`).v[i]! + W(`${n}.bias`).v[i]!);
  };
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
  return seqs.map((seq) => {
    let hs = seq.map((id, t) => range(0, C).map((i) => W('wte.weight').v[id * C + i]! + W('wpe.weight').v[t * C + i]!));
    for (let l = 0; l < c.nLayer; l++) {
      const p = `h.${l}`;
      const a = hs.map((x) => ln(x, `${p}.ln_1`));
      const qkvCols = (o: number) => range(o, h * d);
      const q = a.map((x) => lin(x, W(`${p}.attn.c_attn.weight`), W(`${p}.attn.c_attn.bias`), qkvCols(0), C));
      const k = a.map((x) => lin(x, W(`${p}.attn.c_attn.weight`), W(`${p}.attn.c_attn.bias`), qkvCols(C), C));
      const v = a.map((x) => lin(x, W(`${p}.attn.c_attn.weight`), W(`${p}.attn.c_attn.bias`), qkvCols(2 * C), C));
      const y = q.map((qt, t) => {
        const out = new Array<number>(h * d).fill(0);
        for (let hh = 0; hh < h; hh++) {
          const s = range(0, t + 1).map((j) => range(0, d).reduce((acc, i) => acc + qt[hh * d + i]! * k[j]![hh * d + i]!, 0) / Math.sqrt(d));
          const m = Math.max(...s);
          const e = s.map((z) => Math.exp(z - m));
          const z = e.reduce((x1, x2) => x1 + x2, 0);
          e.forEach((w, j) => range(0, d).forEach((i) => (out[hh * d + i]! += (w / z) * v[j]![hh * d + i]!)));
        }
        return out;
      });
      // c_proj rows 0..h·d−1 only.
      const proj = y.map((yt) => lin(yt, W(`${p}.attn.c_proj.weight`), W(`${p}.attn.c_proj.bias`), range(0, C), h * d));
      hs = hs.map((x, t) => x.map((xi, i) => xi + proj[t]![i]!));
      const fc = hs.map((x) => lin(ln(x, `${p}.ln_2`), W(`${p}.mlp.c_fc.weight`), W(`${p}.mlp.c_fc.bias`), range(0, f), C).map(gelu));
      const mo = fc.map((u) => lin(u, W(`${p}.mlp.c_proj.weight`), W(`${p}.mlp.c_proj.bias`), range(0, C), f));
      hs = hs.map((x, t) => x.map((xi, i) => xi + mo[t]![i]!));
    }
    const wte = W('wte.weight').v;
    return hs.map((x) => ln(x, 'ln_f')).map((x) => range(0, c.vocabSize).map((vId) => range(0, C).reduce((s, i) => s + x[i]! * wte[vId * C + i]!, 0)));
  });
}

describe('SlimmableGPT', () => {
  it('at width 1 is bit-identical to the plain GPT with the same weights (also after switching widths)', () => {
    const gpt = new GPT(cfg, { seed: 3 });
    const slim = SlimmableGPT.fromGpt(gpt);
    gpt.eval();
    slim.eval();
    const want = bits(gpt.forward(ids));
    expect(bits(slim.forward(ids))).toEqual(want);
    slim.setWidth(0.5);
    expect(bits(slim.forward(ids))).not.toEqual(want);
    slim.setWidth(1);
    expect(bits(slim.forward(ids))).toEqual(want);
    // Same for the other GPT options the slim path re-implements: no bias, rotary positions, relu.
    for (const extra of [{ bias: false }, { positionEmbedding: 'rope' as const, activation: 'relu' as const }]) {
      const g = new GPT({ ...cfg, ...extra }, { seed: 4 }).eval();
      const s = SlimmableGPT.fromGpt(g).eval();
      expect(bits(s.forward(ids))).toEqual(bits(g.forward(ids)));
      g.dispose();
      s.dispose();
    }
    // State dicts carry the same (HF GPT-2) names: the width is not in the weights.
    expect(slim.namedParameters().map(([n]) => n)).toEqual(gpt.namedParameters().map(([n]) => n));
    gpt.dispose();
    slim.dispose();
  });

  it('a sub-width gives the logits of an independently written model sliced by hand (first ⌈m·h⌉ heads, ⌈m·d_ff⌉ channels)', () => {
    const slim = new SlimmableGPT(cfg, { seed: 5 }).eval();
    for (const [m, h, f] of [[0.25, 1, 6], [0.5, 2, 12], [0.75, 3, 18], [1, 4, 24]] as const) {
      slim.setWidth(m);
      expect([slim.activeHeads, slim.activeChannels]).toEqual([h, f]);
      const got = slim.forward(ids).arraySync() as number[][][];
      const want = referenceLogits(slim, ids, h, f);
      let diff = 0;
      got.forEach((s, i) => s.forEach((r, j) => r.forEach((x, k) => (diff = Math.max(diff, Math.abs(x - want[i]![j]![k]!))))));
      expect(diff, `width ${m}`).toBeLessThan(1e-4);
    }
    slim.setWidth(0.3);
    expect([slim.activeHeads, slim.activeChannels]).toEqual([2, 8]); // ⌈1.2⌉, ⌈7.2⌉
    slim.dispose();
  });

  it('counts active parameters and FLOPs per width', () => {
    const slim = new SlimmableGPT(cfg, { seed: 6 });
    expect(slim.activeParameters()).toBe(slim.numParameters());
    // By hand for width 0.5 (2 of 4 heads → 8 attention dims, 12 of 24 MLP channels), C = 16:
    const C = 16;
    const emb = 23 * C + 12 * C;
    const block = (hd: number, f: number) => 2 * 2 * C + (C * 3 * hd + 3 * hd) + (hd * C + C) + (C * f + f) + (f * C + C);
    slim.setWidth(0.5);
    expect(slim.activeParameters()).toBe(emb + 2 * block(8, 12) + 2 * C);
    const flops = (hd: number, f: number, T: number) => 2 * (2 * (C * 3 * hd + hd * C + 2 * C * f) + 4 * T * hd) + 2 * C * 23;
    expect(slim.flopsPerToken(10)).toBe(flops(8, 12, 10));
    const counts = [0.25, 0.5, 0.75, 1].map((m) => (slim.setWidth(m), [slim.activeParameters(), slim.flopsPerToken()]));
    for (let i = 1; i < counts.length; i++) {
      expect(counts[i]![0]).toBeGreaterThan(counts[i - 1]![0]!);
      expect(counts[i]![1]).toBeGreaterThan(counts[i - 1]![1]!);
    }
    expect(counts[3]![1]).toBe(flops(16, 24, 12));
    slim.dispose();
  });

  it('generates at a sub-width with the KV cache exactly as without it', async () => {
    const slim = new SlimmableGPT(cfg, { seed: 7 }).setWidth(0.5);
    const a = await generate(slim, [1, 2, 3], { maxNewTokens: 6, greedy: true });
    const b = await generate(slim, [1, 2, 3], { maxNewTokens: 6, greedy: true, useCache: false });
    expect(a.ids).toEqual(b.ids);
    slim.dispose();
  });

  it('the sandwich rule trains largest + smallest + random widths; every width learns, unlike full-width-only training', () => {
    const rng = new Rng(1);
    const w = sandwichWidths({}, rng);
    expect(w.slice(0, 2)).toEqual([1, 0.25]);
    expect(w).toHaveLength(4);
    for (const x of w.slice(2)) expect([0.5, 0.75]).toContain(x);
    const cont = sandwichWidths({ continuous: true, randomWidths: 3 }, rng);
    for (const x of cont.slice(2)) expect(x > 0.25 && x < 1).toBe(true);

    // A cycle through a permutation of 10 tokens: learnable in a few dozen steps.
    const tokens = Array.from({ length: 200 }, (_, i) => [3, 1, 4, 0, 5, 9, 2, 6, 8, 7][i % 10]!);
    const small: GptConfigInput = { vocabSize: 10, nLayer: 1, nHead: 4, nEmbd: 16, nInner: 32, nPositions: 12 };
    const evalAt = (m: SlimmableGPT, width: number) =>
      m.withWidth(width, () => {
        const x = tf.tensor2d([tokens.slice(0, 8), tokens.slice(5, 13)], [2, 8], 'int32');
        const y = tf.tensor2d([tokens.slice(1, 9), tokens.slice(6, 14)], [2, 8], 'int32');
        const l = m.loss(x, y);
        const v = l.dataSync()[0]!;
        [x, y, l].forEach((t) => t.dispose());
        return v;
      });
    const sandwich = new SlimmableGPT(small, { seed: 8 });
    const hist = trainSlimmable(sandwich, { tokens, steps: 25, batchSize: 4, context: 8, lr: 1e-2, seed: 1, distill: false });
    expect(hist[0]!.widths.slice(0, 2)).toEqual([1, 0.25]);
    const fullOnly = new SlimmableGPT(small, { seed: 8 });
    trainSlimmable(fullOnly, { tokens, steps: 25, batchSize: 4, context: 8, lr: 1e-2, seed: 1, widths: [1], randomWidths: 0 });
    const uniform = Math.log(10);
    const s = [0.25, 0.5, 0.75, 1].map((m) => evalAt(sandwich, m));
    for (const l of s) expect(l).toBeLessThan(0.3 * uniform);
    // Trained only at full width, the quarter-width sub-network is much worse than the sandwich-trained
    // one, and its gap to full width is several times the sandwich model's.
    const f = [evalAt(fullOnly, 0.25), evalAt(fullOnly, 1)];
    expect(f[0]! - s[0]!).toBeGreaterThan(0.25);
    expect(f[0]! - f[1]!).toBeGreaterThan(3 * Math.abs(s[0]! - s[3]!));
    sandwich.dispose();
    fullOnly.dispose();
  });

  it('leaks no tensors (forward at every width, generation, sandwich steps)', async () => {
    const slim = new SlimmableGPT(cfg, { seed: 9 });
    const opt = new AdamW(slim, { lr: 1e-3 });
    // The first step creates AdamW's moment tensors (state, not a leak).
    const x0 = tf.tensor2d(ids, undefined, 'int32');
    sandwichStep(slim, opt, x0, x0, { rng: new Rng(0) });
    x0.dispose();
    await expectNoLeak(async () => {
      for (const m of [0.25, 0.5, 0.75, 1]) slim.setWidth(m).forward(ids).dispose();
      slim.setWidth(0.25);
      await generate(slim, [1, 2], { maxNewTokens: 3, greedy: true });
      await generate(slim, [1, 2], { maxNewTokens: 3, numBeams: 2 });
      const x = tf.tensor2d(ids, undefined, 'int32');
      sandwichStep(slim, opt, x, x, { rng: new Rng(0) });
      sandwichStep(slim, opt, x, x, { rng: new Rng(0), distill: false });
      x.dispose();
    }, 'SlimmableGPT');
    opt.dispose();
    slim.dispose();
  });

  it('rejects bad widths', () => {
    const slim = new SlimmableGPT(cfg, { seed: 1 });
    for (const bad of [0, -0.5, 1.5, Number.NaN, '0.5']) expect(() => slim.setWidth(bad as number)).toThrow(InvalidArgumentError);
    expect(() => sandwichWidths({ widths: [0, 1] }, new Rng(0))).toThrow(InvalidArgumentError);
    expect(() => trainSlimmable(slim, { tokens: [1, 2], steps: 1 })).toThrow(InvalidArgumentError);
    slim.dispose();
  });
});
