import { InvalidArgumentError, describe, tf, type LogitsProcessor, type Tensor } from '@nutshell/core';
import { logSoftmaxRow } from '../gpt/processors.js';
import { bestContinuations } from '../beam-candidates.js';
import type { Seq2seqCache } from './cache.js';
import type { T5 } from './model.js';

export interface Seq2seqGenerateOptions {
  /** New tokens at most (default 32). */
  maxNewTokens?: number;
  /** Beam search with this many beams (single input only; default 1 = greedy). */
  numBeams?: number;
  /** Beam scores are sum(log p) / length^lengthPenalty (default 1, as HF). */
  lengthPenalty?: number;
  /** Use the decoder KV cache (default true); without it every step re-runs the whole decoder prefix. */
  useCache?: boolean;
  /** Stop a sequence after this id (default config.eosTokenId; null: never). It is kept in `ids`. */
  eosTokenId?: number | null;
  /** Rules applied to each step's logits (core's LogitsProcessor contract) before the choice. */
  logitsProcessors?: readonly LogitsProcessor[];
}

export interface Seq2seqGenerateResult {
  /** Generated ids (without the decoder start token; with the final eos when one was produced). */
  ids: number[];
  /** Sum of the chosen tokens' log-probabilities (beam search: length-normalised score). */
  score: number;
  finishReason: 'eos' | 'length';
}

function check(model: T5, inputs: readonly (readonly number[])[], o: Seq2seqGenerateOptions): number {
  const maxNew = o.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new InvalidArgumentError(`generateSeq2seq: maxNewTokens must be a non-negative integer, got ${describe(maxNew)}`);
  if (!Array.isArray(inputs) || !inputs.length) throw new InvalidArgumentError(`generateSeq2seq: expected at least one input sequence, got ${describe(inputs)}`);
  const V = model.config.vocabSize;
  for (const s of inputs) {
    if (!Array.isArray(s) || !s.length) throw new InvalidArgumentError(`generateSeq2seq: each input must be a non-empty array of token ids, got ${describe(s)}`);
    for (const id of s) if (!Number.isInteger(id) || id < 0 || id >= V) throw new InvalidArgumentError(`generateSeq2seq: input token ${describe(id)} is outside the vocabulary [0, ${V})`);
  }
  if (o.numBeams !== undefined && (!Number.isInteger(o.numBeams) || o.numBeams < 1)) throw new InvalidArgumentError(`generateSeq2seq: numBeams must be a positive integer, got ${describe(o.numBeams)}`);
  for (const p of o.logitsProcessors ?? []) if (!p || typeof p.process !== 'function') throw new InvalidArgumentError(`generateSeq2seq: logitsProcessors must implement process(inputIds, logits), got ${describe(p)}`);
  return maxNew;
}

/** Right-pads inputs with padTokenId: ids and the 0/1 attention mask, both [B, S]. */
export function padBatch(inputs: readonly (readonly number[])[], pad: number): { ids: number[][]; mask: number[][] } {
  const S = Math.max(...inputs.map((s) => s.length));
  return {
    ids: inputs.map((s) => [...s, ...new Array<number>(S - s.length).fill(pad)]),
    mask: inputs.map((s) => [...new Array<number>(s.length).fill(1), ...new Array<number>(S - s.length).fill(0)]),
  };
}

/** Next-token log-probabilities rows [B][V] for decoder prefixes of equal length. */
function stepRows(model: T5, seqs: number[][], enc: Tensor, mask: number[][], cache: Seq2seqCache | null, processors: readonly LogitsProcessor[]): Float64Array[] {
  const feed = cache && cache.length > 0 ? seqs.map((s) => s.slice(cache.length)) : seqs;
  const logits = model.decode(feed, enc, { attentionMask: mask, cache: cache ?? undefined, lastOnly: true });
  let flat = tf.reshape(logits, [seqs.length, model.config.vocabSize]);
  logits.dispose();
  for (const p of processors) {
    const next = p.process(seqs, flat as tf.Tensor2D);
    if (next !== flat) flat.dispose();
    flat = next;
  }
  const V = model.config.vocabSize;
  const d = flat.dataSync() as Float32Array;
  flat.dispose();
  return seqs.map((_, b) => logSoftmaxRow(d.subarray(b * V, (b + 1) * V)));
}

/**
 * Greedy decoding of a batch of inputs (padded and masked together): each sequence starts from
 * decoderStartTokenId and stops after eos or maxNewTokens.
 */
export async function generateSeq2seqBatch(model: T5, inputs: readonly (readonly number[])[], options: Seq2seqGenerateOptions = {}): Promise<Seq2seqGenerateResult[]> {
  const maxNew = check(model, inputs, options);
  const eos = options.eosTokenId === undefined ? model.config.eosTokenId : options.eosTokenId;
  const { ids, mask } = padBatch(inputs, model.config.padTokenId);
  const wasTraining = model.training;
  model.eval();
  const enc = model.encode(ids, mask);
  const cache = options.useCache === false ? null : model.createCache();
  const start = model.config.decoderStartTokenId;
  const seqs = inputs.map(() => [start]);
  const results: Seq2seqGenerateResult[] = inputs.map(() => ({ ids: [], score: 0, finishReason: 'length' }));
  const done = inputs.map(() => false);
  try {
    for (let t = 0; t < maxNew && done.some((d) => !d); t++) {
      const rows = stepRows(model, seqs, enc, mask, cache, options.logitsProcessors ?? []);
      rows.forEach((row, b) => {
        // Finished rows keep decoding (the batch stays rectangular) but their tokens are dropped.
        let best = 0;
        for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
        seqs[b]!.push(done[b] ? model.config.padTokenId : best);
        if (done[b]) return;
        results[b]!.ids.push(best);
        results[b]!.score += row[best]!;
        if (best === eos) {
          done[b] = true;
          results[b]!.finishReason = 'eos';
        }
      });
    }
  } finally {
    enc.dispose();
    cache?.dispose();
    model.train(wasTraining);
  }
  return results;
}

/** Greedy decoding or beam search (`numBeams` > 1) for one input sequence. */
export async function generateSeq2seq(model: T5, input: readonly number[], options: Seq2seqGenerateOptions = {}): Promise<Seq2seqGenerateResult> {
  if ((options.numBeams ?? 1) <= 1) return (await generateSeq2seqBatch(model, [input], options))[0]!;
  const maxNew = check(model, [input], options);
  return beamSearch(model, input, maxNew, options);
}

interface Beam {
  seq: number[];
  score: number;
}

/** Beam search over decoder sequences (HF-style length-normalised hypotheses; eos ends a hypothesis). */
async function beamSearch(model: T5, input: readonly number[], maxNew: number, o: Seq2seqGenerateOptions): Promise<Seq2seqGenerateResult> {
  const N = o.numBeams!;
  const lp = o.lengthPenalty ?? 1;
  const eos = o.eosTokenId === undefined ? model.config.eosTokenId : o.eosTokenId;
  const wasTraining = model.training;
  model.eval();
  const enc1 = model.encode([[...input]]);
  const cache = o.useCache === false ? null : model.createCache();
  const norm = (b: Beam) => b.score / Math.max(1, b.seq.length - 1) ** lp;
  let beams: Beam[] = [{ seq: [model.config.decoderStartTokenId], score: 0 }];
  const finished: Beam[] = [];
  try {
    for (let step = 0; step < maxNew && beams.length; step++) {
      const idx = tf.zeros([beams.length], 'int32');
      const enc = tf.gather(enc1, idx);
      idx.dispose();
      const mask = beams.map(() => new Array<number>(input.length).fill(1));
      let rows: Float64Array[];
      try {
        rows = stepRows(model, beams.map((b) => b.seq), enc, mask, cache, o.logitsProcessors ?? []);
      } finally {
        enc.dispose();
      }
      // The best 2N continuations over all beams.
      const top = bestContinuations(beams.map((b) => b.score), rows, 2 * N);
      const next: Beam[] = [];
      const origin: number[] = [];
      for (const c of top) {
        if (c.score === -Infinity) continue;
        const beam = { seq: [...beams[c.b]!.seq, c.id], score: c.score };
        if (c.id === eos) finished.push(beam);
        else if (next.length < N) {
          next.push(beam);
          origin.push(c.b);
        }
        if (next.length === N) break;
      }
      beams = next;
      if (cache && beams.length) cache.reorder(origin);
      if (finished.length >= N) break;
    }
  } finally {
    enc1.dispose();
    cache?.dispose();
    model.train(wasTraining);
  }
  const all = [...finished, ...beams];
  if (!all.length) return { ids: [], score: 0, finishReason: 'length' };
  const best = all.reduce((a, b) => (norm(b) > norm(a) ? b : a));
  const ids = best.seq.slice(1);
  return { ids, score: norm(best), finishReason: ids[ids.length - 1] === eos ? 'eos' : 'length' };
}
