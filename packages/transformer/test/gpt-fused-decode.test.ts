// The cached forward on the native backend's fused kernels (buffer-storage KV cache) against the
// composed path: uncached logits on native and on cpu, generation on cpu.
import { tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import nativeBackend from '@nutshell/backend-native';
import { Module } from '@nutshell/nn';
import { GPT, KVCache, generate, type GptConfigInput } from '@nutshell/transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const availability = await nativeBackend.isAvailable();
const required = (process.env.NUTSHELL_REQUIRE_BACKENDS ?? '').split(/[\s,]+/).some((n) => n === 'native' || n === 'all');
const note = availability.available ? '' : ` [SKIPPED: native backend unavailable: ${availability.reason}]`;

const tiny = (extra: Partial<GptConfigInput> = {}): GPT =>
  new GPT({ vocabSize: 40, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 24, ...extra }, { seed: 11 });

function maxDiff(a: number[][][], b: number[][][]): number {
  let m = 0;
  a.forEach((s, i) => s.forEach((r, j) => r.forEach((v, k) => (m = Math.max(m, Math.abs(v - b[i]![j]![k]!))))));
  return m;
}

function logits(model: GPT, ids: number[][]): number[][][] {
  const t = model.forward(ids);
  const a = t.arraySync() as number[][][];
  t.dispose();
  return a;
}

/** Feeds seq in the given [start, end) parts through a cache; returns the logits of every position. */
function cachedLogits(model: GPT, seq: number[][], parts: number[][], cache: KVCache): number[][][] {
  const got: number[][][] = seq.map(() => []);
  for (const [s, e] of parts) {
    const l = model.forward(seq.map((r) => r.slice(s, e)), { cache });
    (l.arraySync() as number[][][]).forEach((rows, b) => got[b]!.push(...rows));
    l.dispose();
  }
  return got;
}

/** A stand-in for a LoRA / quantized replacement: c_attn's output scaled by 1.5. */
class Scaled extends Module {
  constructor(readonly inner: Module) {
    super();
    this.registerModule('inner', inner);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(this.inner.forward(x) as Tensor, 1.5));
  }
}

describe.skipIf(!availability.available && !required)(`GPT cached decoding on fused native kernels${note}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
    await tf.setBackend('native');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const seq = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]];
  const parts = [[0, 4], [4, 5], [5, 6], [6, 10]];
  const variants: [string, Partial<GptConfigInput>][] = [
    ['learned positions, gelu_new', {}],
    ['rotary', { positionEmbedding: 'rope' }],
    ['post-LN, no bias', { preLN: false, bias: false }],
    ['exact gelu', { activation: 'gelu' }],
    ['relu, untied head', { activation: 'relu', tieWeights: false }],
    ['silu', { activation: 'silu' }],
  ];
  for (const [label, extra] of variants) {
    it(`cached logits equal uncached ones on native and on cpu within 1e-4 (${label})`, async () => {
      const m = tiny(extra);
      const full = logits(m, seq);
      const cache = m.createCache();
      const got = cachedLogits(m, seq, parts, cache);
      expect(cache.storage).toBe('buffers');
      expect(cache.length).toBe(10);
      expect(maxDiff(got, full)).toBeLessThan(1e-4);
      await tf.setBackend('cpu');
      const onCpu = logits(m, seq);
      await tf.setBackend('native');
      expect(maxDiff(got, onCpu)).toBeLessThan(1e-4);
      // A wrong position or head layout is far larger than the tolerance.
      expect(maxDiff(got, logits(m, [seq[1]!, seq[0]!]))).toBeGreaterThan(1e-2);
      cache.dispose();
      m.dispose();
    });
  }

  it('grows the buffers (amortised doubling) and keeps the cached positions', () => {
    const m = tiny({ positionEmbedding: 'rope', nPositions: 512 });
    const ids = Array.from({ length: 150 }, (_, i) => (i * 7) % 40);
    const full = logits(m, [ids]);
    const cache = m.createCache();
    const caps = new Set<number>();
    const got: number[][] = [];
    for (let i = 0; i < ids.length; i++) {
      const l = m.forward([[ids[i]!]], { cache });
      got.push((l.arraySync() as number[][][])[0]![0]!);
      l.dispose();
      caps.add(cache.capacity);
    }
    expect([...caps]).toEqual([64, 128, 256]);
    // layers × (keys, values) × heads × capacity × head size × 4 bytes
    expect(cache.bytes).toBe(2 * 2 * 2 * 256 * 8 * 4);
    expect(maxDiff([got], full)).toBeLessThan(1e-4);
    cache.dispose();
    m.dispose();
  });

  it('learned positions: capacity stops at the context length', () => {
    const m = tiny({ nPositions: 100 });
    const cache = m.createCache();
    m.forward([Array.from({ length: 70 }, (_, i) => i % 40)], { cache }).dispose();
    expect(cache.capacity).toBe(70);
    m.forward([[1]], { cache }).dispose();
    expect(cache.capacity).toBe(100); // not 140
    expect(cache.length).toBe(71);
    cache.dispose();
    m.dispose();
  });

  it('converts the cache between storages when the backend changes mid-sequence', async () => {
    const m = tiny();
    const full = logits(m, seq);
    const cache = m.createCache();
    const a = cachedLogits(m, seq, [[0, 4]], cache);
    await tf.setBackend('cpu');
    const b = cachedLogits(m, seq, [[4, 6]], cache);
    expect(cache.storage).toBe('tensors');
    await tf.setBackend('native');
    const c = cachedLogits(m, seq, [[6, 10]], cache);
    expect(cache.storage).toBe('buffers');
    const got = seq.map((_, i) => [...a[i]!, ...b[i]!, ...c[i]!]);
    expect(maxDiff(got, full)).toBeLessThan(1e-4);
    cache.dispose();
    m.dispose();
  });

  it('runs a replaced layer (LoRA / quantized stand-in) through its own forward', () => {
    const m = tiny();
    m.setModule('transformer.h.0.attn.c_attn', new Scaled(m.getModule('transformer.h.0.attn.c_attn')));
    const full = logits(m, seq);
    const cache = m.createCache();
    const got = cachedLogits(m, seq, parts, cache);
    expect(cache.storage).toBe('buffers');
    expect(maxDiff(got, full)).toBeLessThan(1e-4);
    cache.dispose();
    m.dispose();
  });

  it('runs a layer that lends a dense weight (DenseWeightSource) through the fused kernel, with its weight', () => {
    // Lends c_fc's weight scaled by 1.5 as [out, in] (transposed), and its forward computes the same,
    // so fused and composed paths agree only if the lent weight and layout are used as declared.
    const m = tiny();
    const inner = m.getModule('transformer.h.1.mlp.c_fc') as Module & { weight: Tensor; bias: Tensor | null };
    const wT = tf.keep(tf.transpose(tf.mul(inner.weight, 1.5)));
    let lent = 0;
    class Lending extends Module {
      forward(x: Tensor): Tensor {
        return tf.tidy(() => {
          const y = tf.matMul(tf.reshape(x, [-1, x.shape.at(-1)!]), wT, false, true);
          const b = inner.bias ? tf.add(y, inner.bias) : y;
          return tf.reshape(b, [...x.shape.slice(0, -1), wT.shape[0]!]);
        });
      }
      denseWeight() {
        lent++;
        return { weight: wT, bias: inner.bias, transposed: true };
      }
    }
    m.setModule('transformer.h.1.mlp.c_fc', new Lending());
    const full = logits(m, seq);
    const cache = m.createCache();
    const got = cachedLogits(m, seq, parts, cache);
    expect(lent).toBeGreaterThan(0);
    expect(maxDiff(got, full)).toBeLessThan(1e-4);
    cache.dispose();
    wT.dispose();
    m.dispose();
  });

  it('keeps the composed path for KVCache subclasses (they override how steps are stored)', () => {
    class Counting extends KVCache {
      sets = 0;
      override set(l: number, k: Tensor, v: Tensor): void {
        this.sets++;
        super.set(l, k, v);
      }
    }
    const m = tiny();
    const cache = new Counting(m.config.nLayer);
    m.forward([[1, 2, 3]], { cache }).dispose();
    m.forward([[4]], { cache }).dispose();
    expect(cache.storage).toBe('tensors');
    expect(cache.sets).toBe(2 * m.config.nLayer);
    cache.dispose();
    m.dispose();
  });

  it('uses the composed path while dropout is active (training mode)', () => {
    const m = tiny({ dropout: 0.1 });
    m.train();
    const cache = m.createCache();
    m.forward([[1, 2, 3]], { cache }).dispose();
    expect(cache.storage).toBe('tensors');
    m.eval();
    m.forward([[4]], { cache }).dispose();
    expect(cache.storage).toBe('buffers');
    expect(cache.length).toBe(4);
    cache.dispose();
    m.dispose();
  });

  it('generates the same tokens as the composed path on cpu (greedy, sampling, beam search)', async () => {
    const m = new GPT({ vocabSize: 30, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 16 }, { seed: 3 });
    const opts = [
      { maxNewTokens: 24, greedy: true },
      { maxNewTokens: 20, temperature: 1.2, topK: 10, seed: 'x' },
      { maxNewTokens: 8, numBeams: 3 },
    ];
    for (const o of opts) {
      const onNative = await generate(m, [1, 2, 3], o);
      await tf.setBackend('cpu');
      const onCpu = await generate(m, [1, 2, 3], o);
      await tf.setBackend('native');
      expect(onNative.ids).toEqual(onCpu.ids);
    }
    m.dispose();
  });

  it('leaks no tensors (cached forward, reorder, growth)', async () => {
    const m = tiny({ positionEmbedding: 'rope', nPositions: 200 });
    await expectNoLeak(() => {
      const c = m.createCache();
      m.forward([[1, 2, 3], [4, 5, 6]], { cache: c }).dispose();
      for (let i = 0; i < 70; i++) m.forward([[i % 40], [(i + 1) % 40]], { cache: c }).dispose();
      c.reorder([1, 1]);
      const l = m.forward([[4], [5]], { cache: c });
      c.dispose();
      return l;
    }, 'fused cached forward');
    m.dispose();
  });
});
