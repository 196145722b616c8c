import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, ShapeError, createKit, parseSafetensors, rawToTensor, saveSafetensors, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import plugin from '@nutshell/transformer/plugin';
import { crossEntropy } from '@nutshell/nn';
import {
  BertForMaskedLM,
  BertForSequenceClassification,
  BertModel,
  bertConfig,
  bertFromBytes,
  loadBert,
  padBertBatch,
  saveBert,
} from '@nutshell/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const FIX = fileURLToPath(new URL('./fixtures/bert/', import.meta.url));
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  mlm_logits: number[][][];
  last_hidden_state: number[][][];
  pooler_output: number[][];
  classifier_logits: number[][];
};
const inputs = { inputIds: expected.input_ids, attentionMask: expected.attention_mask, tokenTypeIds: expected.token_type_ids };
const tmp = mkdtempSync(join(tmpdir(), 'nutshell-bert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Max |a − b| over nested arrays of the same shape. */
function maxDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number') return Math.abs(a - (b as number));
  return Math.max(...(a as unknown[]).map((x, i) => maxDiff(x, (b as unknown[])[i])));
}

function take(t: Tensor): unknown {
  const a = t.arraySync();
  t.dispose();
  return a;
}

const readDir = (name: string) => ({
  config: JSON.parse(readFileSync(join(FIX, name, 'config.json'), 'utf8')) as Record<string, unknown>,
  bytes: new Uint8Array(readFileSync(join(FIX, name, 'model.safetensors'))),
});

describe('BERT checkpoints (Hugging Face layout) against a PyTorch reference', () => {
  it('BertForMaskedLM: MLM logits within 1e-4, with padding and two segments', async () => {
    const model = await loadBert(join(FIX, 'mlm'));
    expect(model).toBeInstanceOf(BertForMaskedLM);
    const d = maxDiff(take((model as BertForMaskedLM).forward(inputs)), expected.mlm_logits);
    expect(d).toBeLessThan(1e-4);
    expect(model.config).toMatchObject({ vocabSize: 60, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 40, hiddenAct: 'gelu', layerNormEps: 1e-12 });
    model.dispose();
  });

  it('details matter at this tolerance: tanh GELU, no mask or no token types miss the reference', () => {
    const { config, bytes } = readDir('mlm');
    const approx = bertFromBytes({ ...config, hidden_act: 'gelu_new' }, bytes);
    expect(maxDiff(take(approx.forward(inputs)), expected.mlm_logits)).toBeGreaterThan(1e-3);
    approx.dispose();
    const exact = bertFromBytes(config, bytes, 'mlm');
    expect(maxDiff(take(exact.forward({ ...inputs, attentionMask: undefined })), expected.mlm_logits)).toBeGreaterThan(1e-3);
    expect(maxDiff(take(exact.forward({ ...inputs, tokenTypeIds: undefined })), expected.mlm_logits)).toBeGreaterThan(1e-3);
    exact.dispose();
  });

  it('BertForSequenceClassification and BertModel (hidden states, pooler) from the classifier checkpoint', async () => {
    const clf = await loadBert(join(FIX, 'cls'));
    expect(clf).toBeInstanceOf(BertForSequenceClassification);
    expect(clf.config.numLabels).toBe(3);
    expect(maxDiff(take((clf as BertForSequenceClassification).forward(inputs)), expected.classifier_logits)).toBeLessThan(1e-4);
    clf.dispose();
    const base = await loadBert(join(FIX, 'cls'), 'base');
    expect(base).toBeInstanceOf(BertModel);
    const out = base.forward(inputs);
    expect(maxDiff(take(out.lastHiddenState), expected.last_hidden_state)).toBeLessThan(1e-4);
    expect(maxDiff(take(out.poolerOutput!), expected.pooler_output)).toBeLessThan(1e-4);
    base.dispose();
    // The encoder of the MLM checkpoint loads as a BertModel without a pooler.
    const enc = await loadBert(join(FIX, 'mlm'), 'base');
    expect(enc.pooler).toBeNull();
    enc.dispose();
  });

  it('padding does not change the real tokens: row 2 alone equals its padded row', async () => {
    const base = await loadBert(join(FIX, 'cls'), 'base');
    const alone = base.forward({ inputIds: [expected.input_ids[1]!.slice(0, 7)], tokenTypeIds: [expected.token_type_ids[1]!.slice(0, 7)] });
    const row = expected.last_hidden_state[1]!.slice(0, 7);
    expect(maxDiff(take(alone.lastHiddenState), [row])).toBeLessThan(1e-4);
    alone.poolerOutput!.dispose();
    base.dispose();
  });

  it('reads the older forms too: gamma/beta LayerNorm names, position_ids buffer, stored decoder, NSP head, pooler', async () => {
    const { tensors } = parseSafetensors(readDir('mlm').bytes);
    const hub: Record<string, Tensor> = {};
    for (const [k, raw] of Object.entries(tensors)) hub[k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')] = rawToTensor(raw, k);
    hub['bert.embeddings.position_ids'] = tf.range(0, 16, 1, 'int32').reshape([1, 16]);
    hub['cls.predictions.decoder.weight'] = tf.clone(hub['bert.embeddings.word_embeddings.weight']!);
    hub['cls.predictions.decoder.bias'] = tf.clone(hub['cls.predictions.bias']!);
    hub['cls.seq_relationship.weight'] = tf.zeros([2, 16]);
    hub['cls.seq_relationship.bias'] = tf.zeros([2]);
    hub['bert.pooler.dense.weight'] = tf.zeros([16, 16]);
    hub['bert.pooler.dense.bias'] = tf.zeros([16]);
    const dir = join(tmp, 'hub');
    mkdirSync(dir);
    const cfg = { ...readDir('mlm').config, architectures: ['BertForPreTraining'] };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    writeFileSync(join(dir, 'model.safetensors'), saveSafetensors(hub));
    Object.values(hub).forEach((t) => t.dispose());
    const model = await loadBert(dir);
    expect(model).toBeInstanceOf(BertForMaskedLM);
    expect(maxDiff(take((model as BertForMaskedLM).forward(inputs)), expected.mlm_logits)).toBeLessThan(1e-4);
    model.dispose();
  });
});

describe('BERT export', () => {
  for (const name of ['mlm', 'cls'] as const) {
    it(`${name}: writes the keys and bytes it read (tied decoder stored once) and reloads identically`, async () => {
      const model = await loadBert(join(FIX, name));
      const out = join(tmp, `saved-${name}`);
      await saveBert(model, out);
      const orig = parseSafetensors(readDir(name).bytes).tensors;
      const saved = parseSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
      expect(Object.keys(saved.tensors).sort()).toEqual(Object.keys(orig).sort());
      for (const [k, raw] of Object.entries(saved.tensors)) expect(Buffer.from(raw.data).equals(Buffer.from(orig[k]!.data)), k).toBe(true);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      const ref = readDir(name).config;
      for (const k of ['architectures', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'vocab_size', 'max_position_embeddings', 'type_vocab_size', 'layer_norm_eps', 'hidden_act', 'model_type', 'pad_token_id', 'id2label']) {
        expect(cfg[k], k).toEqual(ref[k]);
      }
      const again = await loadBert(out);
      const a = model instanceof BertForMaskedLM ? model.forward(inputs) : (model as BertForSequenceClassification).forward(inputs);
      const b = again instanceof BertForMaskedLM ? again.forward(inputs) : (again as BertForSequenceClassification).forward(inputs);
      expect(maxDiff(take(a), take(b))).toBe(0);
      model.dispose();
      again.dispose();
    });
  }

  it('an untied decoder is saved as cls.predictions.decoder.weight; a bare BertModel without the bert. prefix', async () => {
    const untied = new BertForMaskedLM({ vocabSize: 30, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, tieWordEmbeddings: false }, { seed: 3 });
    const dir = join(tmp, 'untied');
    await saveBert(untied, dir);
    const keys = Object.keys(parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))).tensors);
    expect(keys).toContain('cls.predictions.decoder.weight');
    const back = (await loadBert(dir)) as BertForMaskedLM;
    expect(back.config.tieWordEmbeddings).toBe(false);
    expect(maxDiff(take(back.forward([[1, 2, 3]])), take(untied.eval().forward([[1, 2, 3]])))).toBe(0);
    untied.dispose();
    back.dispose();
    const base = new BertModel({ vocabSize: 30, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1 }, { seed: 3 });
    const bdir = join(tmp, 'base');
    await saveBert(base, bdir);
    const bkeys = Object.keys(parseSafetensors(new Uint8Array(readFileSync(join(bdir, 'model.safetensors')))).tensors);
    expect(bkeys).toContain('embeddings.word_embeddings.weight');
    expect(bkeys).toContain('pooler.dense.weight');
    expect(JSON.parse(readFileSync(join(bdir, 'config.json'), 'utf8')).architectures).toEqual(['BertModel']);
    // A bare encoder checkpoint can seed a classifier: the head is missing, which is a FormatError.
    await expect(loadBert(bdir, 'classification')).rejects.toThrow(FormatError);
    base.dispose();
  });
});

describe('BERT inputs, configs and files: typed errors', () => {
  const small = { vocabSize: 20, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, maxPositionEmbeddings: 6 };

  it('bad configs throw InvalidArgumentError', () => {
    expect(() => bertConfig({ vocabSize: 20, hiddenSize: 10, numAttentionHeads: 3 })).toThrow(InvalidArgumentError);
    expect(() => new BertModel({ vocabSize: 20, hiddenSize: 10, numAttentionHeads: 4 })).toThrow(/divisible/);
    for (const bad of [{ vocabSize: 0 }, { vocabSize: 5, numHiddenLayers: 0 }, { vocabSize: 5, hiddenDropoutProb: 1 }, { vocabSize: 5, hiddenAct: 'tanh' }, { vocabSize: 5, padTokenId: 5 }, { vocabSize: 5, layerNormEps: 0 }]) {
      expect(() => bertConfig(bad as never), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('bad inputs throw typed errors before any computation', () => {
    const m = new BertForMaskedLM(small, { seed: 1 });
    expect(() => m.forward([[1, 2, 20]])).toThrow(InvalidArgumentError); // id ≥ vocab
    expect(() => m.forward([[1, -1]])).toThrow(InvalidArgumentError);
    expect(() => m.forward([[1, 2, 3, 4, 5, 6, 7]])).toThrow(/exceed the 6 positions/);
    const ids = tf.tensor2d([[1, 2, 25]], [1, 3], 'int32');
    expect(() => m.forward(ids)).toThrow(InvalidArgumentError); // checked in tensors too
    ids.dispose();
    expect(() => m.forward({ inputIds: [[1, 2]], tokenTypeIds: [[0, 2]] })).toThrow(InvalidArgumentError);
    expect(() => m.forward({ inputIds: [[1, 2]], attentionMask: [[1, 0.5]] })).toThrow(InvalidArgumentError);
    expect(() => m.forward({ inputIds: [[1, 2]], attentionMask: [[1, 1, 1]] })).toThrow(ShapeError);
    expect(() => m.forward([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => m.loss([[1, 2]], [[-100, 20]])).toThrow(InvalidArgumentError);
    expect(() => m.loss([[1, 2]], [[-100]])).toThrow(ShapeError);
    m.dispose();
    const c = new BertForSequenceClassification({ ...small, numLabels: 2 }, { seed: 1 });
    expect(() => c.loss([[1, 2]], [2])).toThrow(InvalidArgumentError);
    c.dispose();
  });

  it('bad files: wrong model_type, unsupported options, checkpoints that do not fit the config', async () => {
    const { config, bytes } = readDir('mlm');
    expect(() => bertFromBytes({ ...config, model_type: 'gpt2' }, bytes)).toThrow(InvalidArgumentError);
    expect(() => bertFromBytes({ ...config, position_embedding_type: 'relative_key' }, bytes)).toThrow(InvalidArgumentError);
    expect(() => bertFromBytes({ ...config, num_hidden_layers: 3 }, bytes)).toThrow(FormatError);
    expect(() => bertFromBytes({ ...config, hidden_size: 32, intermediate_size: 40 }, bytes)).toThrow(/shape mismatches/);
    expect(() => bertFromBytes(config, bytes, 'classification')).toThrow(/missing keys: .*classifier\.weight/);
    expect(() => bertFromBytes(config, bytes, 'toString' as never)).toThrow(InvalidArgumentError);
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    copyFileSync(join(FIX, 'mlm', 'model.safetensors'), join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), '{ not json');
    await expect(loadBert(dir)).rejects.toThrow(FormatError);
    await expect(loadBert(join(tmp, 'nope'))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('BERT losses', () => {
  it('MLM loss = HF cross-entropy over all logits with ignore index −100 (only labelled positions count)', async () => {
    const model = (await loadBert(join(FIX, 'mlm'))) as BertForMaskedLM;
    const labels = expected.input_ids.map((r, i) => r.map((id, j) => ((i + j) % 3 === 1 && expected.attention_mask[i]![j] ? id : -100)));
    const ours = take(model.loss(inputs, labels)) as number;
    const ref = tf.tidy(() => crossEntropy(tf.reshape(model.forward(inputs), [-1, 60]), tf.tensor1d(labels.flat(), 'int32')));
    expect(Math.abs(ours - (take(ref) as number))).toBeLessThan(1e-5);
    // By hand from the PyTorch logits: mean of −log softmax at the labelled positions.
    let sum = 0;
    let n = 0;
    labels.forEach((r, i) => r.forEach((l, j) => {
      if (l === -100) return;
      const row = expected.mlm_logits[i]![j]!;
      const m = Math.max(...row);
      sum += m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[l]!;
      n++;
    }));
    expect(Math.abs(ours - sum / n)).toBeLessThan(1e-4);
    // Changing an ignored position's label or a non-labelled logit target does nothing; a labelled one does.
    const moved = labels.map((r) => [...r]);
    moved[0]![1] = (moved[0]![1]! + 1) % 60;
    expect(Math.abs((take(model.loss(inputs, moved)) as number) - ours)).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('classifier loss is cross-entropy on the pooled logits', async () => {
    const clf = (await loadBert(join(FIX, 'cls'))) as BertForSequenceClassification;
    const ours = take(clf.loss(inputs, [2, 0])) as number;
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const [a, b] = expected.classifier_logits as [number[], number[]];
    expect(Math.abs(ours - (lse(a) - a[2]! + lse(b) - b[0]!) / 2)).toBeLessThan(1e-4);
    clf.dispose();
  });
});

describe('BERT memory', () => {
  it('forward passes and losses of all three models leak no tensors', async () => {
    const cfg = { vocabSize: 30, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 2, maxPositionEmbeddings: 8 };
    const mlm = new BertForMaskedLM(cfg, { seed: 1 });
    const clf = new BertForSequenceClassification(cfg, { seed: 1 });
    const base = new BertModel(cfg, { seed: 1 });
    const batch = { inputIds: [[2, 5, 6, 3], [2, 7, 3, 0]], attentionMask: [[1, 1, 1, 1], [1, 1, 1, 0]] };
    await expectNoLeak(() => mlm.forward(batch));
    await expectNoLeak(() => mlm.loss(batch, [[-100, 5, -100, -100], [-100, -100, -100, -100]]));
    await expectNoLeak(() => mlm.loss(batch, [[-100, -100, -100, -100], [-100, -100, -100, -100]]));
    await expectNoLeak(() => clf.forward(batch));
    await expectNoLeak(() => clf.loss(batch, [0, 1]));
    await expectNoLeak(() => base.forward(batch));
    const padded = padBertBatch([{ ids: [2, 5, 3], tokenTypeIds: [0, 0, 0] }, [2, 3]], { padId: 0 });
    await expectNoLeak(() => mlm.forward(padded));
    expect(padded.attentionMask.arraySync()).toEqual([[1, 1, 1], [1, 1, 0]]);
    Object.values(padded).forEach((t) => t.dispose());
    [mlm, clf, base].forEach((m) => m.dispose());
  });
});

describe('plugin', () => {
  it("registers the 'bert' model: create, save, load through the kit", async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    expect(kit.list('models')).toContain('bert');
    const entry = kit.get('models', 'bert') as { create: (c: object, o?: object) => BertForMaskedLM; save: typeof saveBert; load: typeof loadBert; class: unknown };
    expect(entry.class).toBe(BertForMaskedLM);
    const m = entry.create({ vocabSize: 30, hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1 }, { seed: 9 });
    const dir = join(tmp, 'kit');
    await entry.save(m, dir);
    const back = await entry.load(dir);
    expect(back).toBeInstanceOf(BertForMaskedLM);
    expect(maxDiff(take((back as BertForMaskedLM).forward([[1, 2, 3]])), take(m.eval().forward([[1, 2, 3]])))).toBe(0);
    m.dispose();
    back.dispose();
  });
});
