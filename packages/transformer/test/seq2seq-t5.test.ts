import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, ShapeError, parseSafetensors, saveSafetensors, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { valueAndGrads, disposeGrads } from '@nutshell/nn';
import { T5, generateSeq2seq, loadT5, relativePositionBucket, saveT5, t5Config, t5FromBytes } from '@nutshell/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const FIX = fileURLToPath(new URL('./fixtures/t5/', import.meta.url));
interface Expected {
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  encoder_last_hidden_state: number[][][];
  logits: number[][][];
  greedy: number[];
}
const expected = (v: string) => JSON.parse(readFileSync(join(FIX, v, 'expected.json'), 'utf8')) as Expected;
const tmp = mkdtempSync(join(tmpdir(), 'nutshell-t5-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function maxDiff(a: number[][][], b: number[][][]): number {
  let m = 0;
  a.forEach((s, i) => s.forEach((r, j) => r.forEach((v, k) => (m = Math.max(m, Math.abs(v - b[i]![j]![k]!))))));
  return m;
}
const arr = (t: Tensor): number[][][] => {
  const a = t.arraySync() as number[][][];
  t.dispose();
  return a;
};

describe('T5 relative position buckets', () => {
  it('match HF _relative_position_bucket for every relative position in [-300, 300]', () => {
    const { buckets } = JSON.parse(readFileSync(join(FIX, 'buckets.json'), 'utf8')) as { buckets: Record<string, number[]> };
    expect(Object.keys(buckets)).toHaveLength(6);
    for (const [key, want] of Object.entries(buckets)) {
      const [nb, md, dir] = key.split('/');
      const got = want.map((_, i) => relativePositionBucket(i - 300, dir === 'bi', Number(nb), Number(md)));
      expect(got, key).toEqual(want);
    }
    // Spot values by hand (32 buckets, 128 max distance, encoder): 0→0, −1→1, +1→17, far future → 31.
    expect([0, -1, 1, 500].map((r) => relativePositionBucket(r, true))).toEqual([0, 1, 17, 31]);
    // Decoder: every future position is bucket 0.
    expect(relativePositionBucket(5, false)).toBe(0);
  });
});

describe('T5 checkpoints (Hugging Face layout)', () => {
  for (const v of ['v1_0', 'v1_1']) {
    it(`${v}: encoder states and logits match the PyTorch reference of T5ForConditionalGeneration within 1e-4`, async () => {
      const e = expected(v);
      const model = await loadT5(join(FIX, v));
      const enc = model.encode(e.input_ids, e.attention_mask);
      expect(maxDiff(arr(tf.clone(enc)), e.encoder_last_hidden_state)).toBeLessThan(1e-4);
      const logits = arr(model.decode(e.decoder_input_ids, enc, { attentionMask: e.attention_mask }));
      enc.dispose();
      expect(maxDiff(logits, e.logits)).toBeLessThan(1e-4);
      expect(maxDiff(arr(model.forward(e.input_ids, e.decoder_input_ids, e.attention_mask)), e.logits)).toBeLessThan(1e-4);
      // The logits are far from uniform, so a wrong detail (scaling, bias bucket, gelu) shows at this tolerance.
      expect(Math.max(...e.logits.flat(2).map(Math.abs))).toBeGreaterThan(2);
      model.dispose();
    });

    it(`${v}: greedy decoding gives the reference's ids, with and without the KV cache`, async () => {
      const e = expected(v);
      const model = await loadT5(join(FIX, v));
      const input = e.input_ids[0]!;
      const cached = await generateSeq2seq(model, input, { maxNewTokens: 8 });
      const uncached = await generateSeq2seq(model, input, { maxNewTokens: 8, useCache: false });
      expect(cached.ids).toEqual(e.greedy);
      expect(uncached.ids).toEqual(e.greedy);
      expect(cached.score).toBeCloseTo(uncached.score, 4);
      model.dispose();
    });
  }

  it('reads the config as HF does: v1.0 relu tied, v1.1 gated-gelu (gelu_new) untied with its own decoder depth', async () => {
    const a = await loadT5(join(FIX, 'v1_0'));
    const b = await loadT5(join(FIX, 'v1_1'));
    expect(a.config).toMatchObject({ dModel: 16, dKv: 6, numHeads: 2, dFf: 24, numLayers: 2, numDecoderLayers: 2, denseActFn: 'relu', isGatedAct: false, tieWordEmbeddings: true, relativeAttentionNumBuckets: 8 });
    expect(b.config).toMatchObject({ denseActFn: 'gelu_new', isGatedAct: true, tieWordEmbeddings: false, numDecoderLayers: 1, dFf: 20 });
    expect(a.lm_head).toBeNull();
    expect(b.namedParameters().map(([n]) => n)).toContain('decoder.block.0.layer.2.DenseReluDense.wi_1.weight');
    expect(b.namedParameters().map(([n]) => n)).toContain('lm_head.weight');
    // relative_attention_bias only in block 0 of each stack, and never in EncDecAttention.
    const rab = a.namedParameters().map(([n]) => n).filter((n) => n.includes('relative_attention_bias'));
    expect(rab).toEqual(['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight']);
    a.dispose();
    b.dispose();
  });

  it('saves in the layout it loads: HF key names, tied copies left out, same bytes, HF config keys', async () => {
    for (const v of ['v1_0', 'v1_1']) {
      const model = await loadT5(join(FIX, v));
      const out = join(tmp, v);
      await saveT5(model, out);
      const orig = parseSafetensors(new Uint8Array(readFileSync(join(FIX, v, 'model.safetensors')))).tensors;
      const saved = parseSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors')))).tensors;
      const origKeys = Object.keys(orig).filter((k) => !k.includes('embed_tokens'));
      expect(Object.keys(saved).sort()).toEqual(origKeys.sort());
      for (const k of origKeys) expect(Buffer.from(saved[k]!.data).equals(Buffer.from(orig[k]!.data)), k).toBe(true);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      const src = JSON.parse(readFileSync(join(FIX, v, 'config.json'), 'utf8'));
      for (const k of ['d_model', 'd_kv', 'd_ff', 'num_layers', 'num_decoder_layers', 'num_heads', 'feed_forward_proj', 'dense_act_fn', 'is_gated_act', 'tie_word_embeddings', 'relative_attention_num_buckets', 'relative_attention_max_distance', 'vocab_size', 'model_type']) expect(cfg[k], k).toEqual(src[k]);
      const again = await loadT5(out);
      const e = expected(v);
      expect(maxDiff(arr(again.forward(e.input_ids, e.decoder_input_ids, e.attention_mask)), e.logits)).toBeLessThan(1e-4);
      model.dispose();
      again.dispose();
    }
  });

  it('a decoder KV cache gives the uncached logits within 1e-4, step by step', async () => {
    const model = await loadT5(join(FIX, 'v1_1'));
    const e = expected('v1_1');
    const enc = model.encode(e.input_ids, e.attention_mask);
    const full = arr(model.decode(e.decoder_input_ids, enc, { attentionMask: e.attention_mask }));
    const cache = model.createCache();
    const T = e.decoder_input_ids[0]!.length;
    for (let t = 0; t < T; t++) {
      // Two tokens at once at step 2 checks multi-token appends too.
      const n = t === 2 ? 2 : 1;
      const step = arr(model.decode(e.decoder_input_ids.map((r) => r.slice(t, t + n)), enc, { attentionMask: e.attention_mask, cache }));
      for (let b = 0; b < 2; b++) for (let j = 0; j < n; j++) {
        const d = Math.max(...step[b]![j]!.map((x, k) => Math.abs(x - full[b]![t + j]![k]!)));
        expect(d).toBeLessThan(1e-4);
      }
      t += n - 1;
    }
    expect(cache.length).toBe(T);
    expect(cache.bytes).toBeGreaterThan(0);
    cache.dispose();
    enc.dispose();
    model.dispose();
  });

  it('beam search: 1 beam is greedy; more beams never score below greedy; cached = uncached', async () => {
    const model = await loadT5(join(FIX, 'v1_0'));
    const input = expected('v1_0').input_ids[0]!;
    const o = { maxNewTokens: 5, eosTokenId: null };
    const greedy = await generateSeq2seq(model, input, o);
    const one = await generateSeq2seq(model, input, { ...o, numBeams: 1 });
    expect(one.ids).toEqual(greedy.ids);
    const beam = await generateSeq2seq(model, input, { ...o, numBeams: 4 });
    const beamNoCache = await generateSeq2seq(model, input, { ...o, numBeams: 4, useCache: false });
    expect(beam.ids).toEqual(beamNoCache.ids);
    expect(beam.score).toBeCloseTo(beamNoCache.score, 4);
    expect(beam.ids).toHaveLength(5);
    expect(beam.score).toBeGreaterThanOrEqual(greedy.score / 5 - 1e-6);
    // Check the beam's own score: mean log p of its ids, recomputed by teacher forcing.
    const dec = [[0, ...beam.ids.slice(0, -1)]];
    const lp = tf.tidy(() => tf.logSoftmax(model.forward([input], dec)).arraySync() as number[][][]);
    const mean = beam.ids.reduce((s, id, i) => s + lp[0]![i]![id]!, 0) / beam.ids.length;
    expect(beam.score).toBeCloseTo(mean, 4);
    model.dispose();
  });

  it('trains: the loss has gradients for every parameter; labels of −100 are ignored', async () => {
    const model = new T5({ vocabSize: 20, dModel: 16, numHeads: 2, dFf: 32, numLayers: 1, relativeAttentionNumBuckets: 8, relativeAttentionMaxDistance: 16 }, { seed: 1 });
    const ids = [[3, 4, 5, 1], [6, 7, 1, 0]];
    const mask = [[1, 1, 1, 1], [1, 1, 1, 0]];
    const labels = [[8, 9, 1], [10, 1, -100]];
    const { value, grads } = valueAndGrads(() => model.loss(ids, labels, mask) as tf.Scalar, model);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    expect(grads.size).toBe(model.parameters().length);
    disposeGrads(grads);
    value.dispose();
    // −100 positions contribute nothing: the loss is the mean −log p over the 5 real label positions.
    const l1 = model.loss(ids, labels, mask);
    const lp = tf.tidy(() => tf.logSoftmax(model.forward(ids, [[0, 8, 9], [0, 10, 1]], mask)).arraySync() as number[][][]);
    let nll = 0;
    labels.forEach((row, b) => row.forEach((y, t) => y >= 0 && (nll -= lp[b]![t]![y]!)));
    expect(l1.dataSync()[0]).toBeCloseTo(nll / 5, 5);
    const l2 = model.loss(ids, [[8, 9, 1], [10, 1, 1]], mask);
    expect(l2.dataSync()[0]).not.toBeCloseTo(l1.dataSync()[0]!, 5);
    const shifted = model.shiftRight(labels);
    expect(shifted.arraySync()).toEqual([[0, 8, 9], [0, 10, 1]]);
    [l1, l2, shifted].forEach((t) => t.dispose());
    model.dispose();
  });

  it('leaks no tensors in forward, loss gradients and generation', async () => {
    const model = await loadT5(join(FIX, 'v1_1'));
    const e = expected('v1_1');
    await expectNoLeak(async () => {
      model.forward(e.input_ids, e.decoder_input_ids, e.attention_mask).dispose();
      const { value, grads } = valueAndGrads(() => model.loss(e.input_ids, e.decoder_input_ids, e.attention_mask) as tf.Scalar, model);
      value.dispose();
      disposeGrads(grads);
      await generateSeq2seq(model, e.input_ids[0]!, { maxNewTokens: 4 });
      await generateSeq2seq(model, e.input_ids[0]!, { maxNewTokens: 4, numBeams: 3 });
      await generateSeq2seq(model, e.input_ids[0]!, { maxNewTokens: 3, numBeams: 2, useCache: false });
    }, 'T5');
    model.dispose();
  });

  it('rejects bad inputs with typed errors', async () => {
    const model = new T5({ vocabSize: 20, dModel: 8, numHeads: 2, numLayers: 1 }, { seed: 0 });
    expect(() => model.encode([[1, 20]])).toThrow(InvalidArgumentError);
    expect(() => model.encode([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => model.encode([[1, 2]], [[1, 1, 1]])).toThrow(ShapeError);
    expect(() => model.loss([[1, 2]], [[1, -5]])).toThrow(InvalidArgumentError);
    await expect(generateSeq2seq(model, [], {})).rejects.toThrow(InvalidArgumentError);
    await expect(generateSeq2seq(model, [1], { numBeams: 0 })).rejects.toThrow(InvalidArgumentError);
    expect(() => t5Config({ vocabSize: 10, feedForwardProj: 'gated-relu-x' })).toThrow(InvalidArgumentError);
    expect(() => t5Config({ vocabSize: 10, feedForwardProj: 'mish' })).toThrow(/unsupported activation/);
    expect(() => t5Config({ vocabSize: 10, dModel: 0 })).toThrow(InvalidArgumentError);
    expect(() => t5Config({ vocabSize: 10, eosTokenId: 10 })).toThrow(InvalidArgumentError);
    const cfg = JSON.parse(readFileSync(join(FIX, 'v1_0', 'config.json'), 'utf8'));
    expect(() => t5FromBytes({ ...cfg, model_type: 'gpt2' }, new Uint8Array(8))).toThrow(InvalidArgumentError);
    const bytes = saveSafetensors({ 'shared.weight': tf.zeros([48, 16]) });
    expect(() => t5FromBytes(cfg, bytes)).toThrow(FormatError);
    expect(() => t5FromBytes(cfg, bytes)).toThrow(/missing keys: encoder\.block\.0/);
    await expect(loadT5(join(tmp, 'nope'))).rejects.toThrow(InvalidArgumentError);
    model.dispose();
  });
});
