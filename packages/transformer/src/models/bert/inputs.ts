import { InvalidArgumentError, ShapeError, describe, tf, type Tensor } from '@nutshell/core';
import type { BertConfig } from './config.js';

type Ids = Tensor | readonly (readonly number[])[];

/** What a BERT forward takes: ids [B, T] and optionally the padding mask and segment ids ([B, T], arrays or int32 tensors). */
export interface BertInputs {
  inputIds: Ids;
  /** 1 for tokens to attend to, 0 for padding. Default all ones. */
  attentionMask?: Ids;
  /** Segment ids (0 = first sentence, 1 = second). Default all zeros. */
  tokenTypeIds?: Ids;
}

/** Inputs checked and turned into tensors; `dispose()` frees what was created here. */
export interface PreparedInputs {
  ids: Tensor;
  tokenTypeIds: Tensor;
  /** Additive mask [B, 1, 1, T]: 0 for tokens, float32's lowest value for padding (HF); null without padding. */
  additiveMask: Tensor | null;
  dispose(): void;
}

/** torch.finfo(torch.float32).min, what HF's get_extended_attention_mask adds at padding. */
const FLOAT32_MIN = -3.4028234663852886e38;

function readRows(x: Ids, name: string, where: string): { shape: [number, number]; values: ArrayLike<number>; tensor: Tensor | null } {
  if (Array.isArray(x)) {
    const rows = x as readonly (readonly number[])[];
    const T = Array.isArray(rows[0]) ? rows[0]!.length : 0;
    if (!rows.length || !T || rows.some((r) => !Array.isArray(r) || r.length !== T)) throw new ShapeError(`${where}: ${name} must be a non-empty [batch, time] array of equal-length rows, got ${describe(x)}`);
    return { shape: [rows.length, T], values: rows.flat(), tensor: null };
  }
  const t = x as Tensor;
  if (!t || typeof t !== 'object' || !('shape' in t)) throw new InvalidArgumentError(`${where}: ${name} must be a [batch, time] array or tensor, got ${describe(x)}`);
  if (t.rank !== 2 || t.shape[1] === 0) throw new ShapeError(`${where}: ${name} must have shape [batch, time], got [${t.shape.join(', ')}]`);
  return { shape: t.shape as [number, number], values: t.dataSync(), tensor: t };
}

function checkRange(values: ArrayLike<number>, hi: number, name: string, where: string, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= hi) throw new InvalidArgumentError(`${where}: ${name} ${describe(v)} at flat index ${i} is outside ${what} [0, ${hi})`);
  }
}

/** Validates ids (in the vocabulary), length (≤ maxPositionEmbeddings), segment ids and mask, and builds the tensors. */
export function prepareInputs(config: BertConfig, inputs: BertInputs | Ids, where = 'BERT'): PreparedInputs {
  const given: BertInputs = Array.isArray(inputs) || (inputs && 'shape' in (inputs as object)) ? { inputIds: inputs as Ids } : (inputs as BertInputs);
  if (!given || typeof given !== 'object' || given.inputIds === undefined) throw new InvalidArgumentError(`${where}: expected inputIds, got ${describe(inputs)}`);
  const ids = readRows(given.inputIds, 'inputIds', where);
  const [B, T] = ids.shape;
  if (T > config.maxPositionEmbeddings) throw new InvalidArgumentError(`${where}: ${T} tokens exceed the ${config.maxPositionEmbeddings} positions of this model (maxPositionEmbeddings)`);
  checkRange(ids.values, config.vocabSize, 'token id', where, 'the vocabulary');
  const same = (r: { shape: [number, number] }, name: string) => {
    if (r.shape[0] !== B || r.shape[1] !== T) throw new ShapeError(`${where}: ${name} has shape [${r.shape.join(', ')}], inputIds [${B}, ${T}]`);
  };
  const owned: Tensor[] = [];
  const intTensor = (r: { values: ArrayLike<number>; tensor: Tensor | null }): Tensor => {
    if (r.tensor && r.tensor.dtype === 'int32') return r.tensor;
    const t = tf.tensor2d(Int32Array.from(r.values), [B, T], 'int32');
    owned.push(t);
    return t;
  };
  let types: Tensor;
  if (given.tokenTypeIds !== undefined) {
    const r = readRows(given.tokenTypeIds, 'tokenTypeIds', where);
    same(r, 'tokenTypeIds');
    checkRange(r.values, config.typeVocabSize, 'token type id', where, 'the token types');
    types = intTensor(r);
  } else {
    types = tf.zeros([B, T], 'int32');
    owned.push(types);
  }
  let additiveMask: Tensor | null = null;
  if (given.attentionMask !== undefined) {
    const r = readRows(given.attentionMask, 'attentionMask', where);
    same(r, 'attentionMask');
    let allOnes = true;
    for (let i = 0; i < r.values.length; i++) {
      const v = r.values[i];
      if (v !== 0 && v !== 1) throw new InvalidArgumentError(`${where}: attentionMask must hold 0 and 1, got ${describe(v)} at flat index ${i}`);
      if (v === 0) allOnes = false;
    }
    if (!allOnes) {
      const m = new Float32Array(B * T);
      for (let i = 0; i < m.length; i++) m[i] = r.values[i] === 0 ? FLOAT32_MIN : 0;
      additiveMask = tf.tensor4d(m, [B, 1, 1, T]);
      owned.push(additiveMask);
    }
  }
  const idsT = intTensor(ids);
  return { ids: idsT, tokenTypeIds: types, additiveMask, dispose: () => owned.forEach((t) => t.dispose()) };
}

/**
 * Pads encoded sequences (e.g. WordPieceTokenizer.encodeForModel results, or plain id arrays) to
 * one [B, T] batch: ids padded with padId, attention mask 0 on padding, token types 0 on padding.
 */
export function padBertBatch(
  sequences: readonly ({ ids: readonly number[]; tokenTypeIds?: readonly number[] } | readonly number[])[],
  options: { padId?: number; length?: number } = {},
): { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor } {
  if (!Array.isArray(sequences) || !sequences.length) throw new InvalidArgumentError(`padBertBatch: expected a non-empty array of sequences, got ${describe(sequences)}`);
  const rows = sequences.map((s) => (Array.isArray(s) ? { ids: s as readonly number[] } : (s as { ids: readonly number[]; tokenTypeIds?: readonly number[] })));
  const longest = Math.max(...rows.map((r) => r.ids.length));
  const T = options.length ?? longest;
  if (!Number.isInteger(T) || T < 1 || T < longest) throw new InvalidArgumentError(`padBertBatch: length ${describe(T)} is shorter than the longest sequence (${longest})`);
  const pad = options.padId ?? 0;
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(pad);
  const mask = new Int32Array(B * T);
  const types = new Int32Array(B * T);
  rows.forEach((r, b) => {
    r.ids.forEach((id, t) => {
      ids[b * T + t] = id;
      mask[b * T + t] = 1;
      types[b * T + t] = r.tokenTypeIds?.[t] ?? 0;
    });
  });
  return { inputIds: tf.tensor2d(ids, [B, T], 'int32'), attentionMask: tf.tensor2d(mask, [B, T], 'int32'), tokenTypeIds: tf.tensor2d(types, [B, T], 'int32') };
}
