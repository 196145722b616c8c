import { InvalidArgumentError, Rng, describe, rngFor, tf, type LogitsProcessor, type Tensor2D, type TextTokenizer } from '@nutshell/core';
import { bestContinuations } from '../beam-candidates.js';
import type { KVCache } from './kv-cache.js';
import type { GPT } from './model.js';
import { logSoftmaxRow, repetitionPenaltyRow, softmaxRow, temperatureRow, topKRow, topPRow } from './processors.js';

export interface GeneratedToken {
  id: number;
  /** 0-based index among the new tokens. */
  index: number;
  /** Text this token completed (with a tokenizer; multi-byte characters arrive whole). */
  text?: string;
}

export interface GenerateOptions {
  /** New tokens to generate at most (default 32). */
  maxNewTokens?: number;
  /** Alias of maxNewTokens. */
  maxTokens?: number;
  /** Always take the most likely token (also when temperature is 0). */
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** CTRL / HF repetition penalty (> 1 discourages tokens already in the sequence). */
  repetitionPenalty?: number;
  /** Stop when the generated text contains one of these (needs `tokenizer`); the text is cut before it. */
  stop?: readonly string[];
  /** Stop after generating one of these ids (e.g. an end-of-text token); it is kept in `ids`. */
  stopTokens?: readonly number[];
  seed?: number | string | Rng;
  /** Called for every new token; return false to stop. */
  onToken?: (token: GeneratedToken) => void | boolean;
  /** Extra rules applied to the logits (after the repetition penalty, before temperature/top-k/top-p), e.g. a watermark. */
  logitsProcessors?: readonly LogitsProcessor[];
  /** Beam search with this many beams (deterministic; sampling options are ignored). */
  numBeams?: number;
  /** Beam scores are sum(log p) / length^lengthPenalty (default 1). */
  lengthPenalty?: number;
  /** Use the KV cache (default true); without it every step re-runs the whole prefix. */
  useCache?: boolean;
  tokenizer?: TextTokenizer;
}

export interface GenerateResult {
  /** The new token ids. */
  ids: number[];
  /** Prompt and new ids. */
  sequence: number[];
  /** Decoded new text (with a tokenizer). */
  text?: string;
  finishReason: 'length' | 'stop' | 'stop-token' | 'callback';
  /** Beam search: the chosen beam's length-normalised score. */
  score?: number;
}

function checkOptions(model: GPT, prompt: readonly number[], o: GenerateOptions): { maxNew: number } {
  const maxNew = o.maxNewTokens ?? o.maxTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new InvalidArgumentError(`generate: maxNewTokens must be a non-negative integer, got ${describe(maxNew)}`);
  if (!Array.isArray(prompt) || prompt.length === 0) throw new InvalidArgumentError(`generate: the prompt must be a non-empty array of token ids (or text with a tokenizer), got ${describe(prompt)}`);
  const V = model.config.vocabSize;
  for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= V) throw new InvalidArgumentError(`generate: prompt token ${describe(id)} is outside the vocabulary [0, ${V})`);
  if (model.config.positionEmbedding === 'learned' && prompt.length > model.config.nPositions) {
    throw new InvalidArgumentError(`generate: the prompt has ${prompt.length} tokens, more than the model's context of ${model.config.nPositions}`);
  }
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature))) throw new InvalidArgumentError(`generate: temperature must be ≥ 0, got ${describe(o.temperature)}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new InvalidArgumentError(`generate: topK must be a non-negative integer, got ${describe(o.topK)}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new InvalidArgumentError(`generate: topP must be in (0, 1], got ${describe(o.topP)}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) throw new InvalidArgumentError(`generate: repetitionPenalty must be > 0, got ${describe(o.repetitionPenalty)}`);
  if (o.stop?.length && !o.tokenizer) throw new InvalidArgumentError('generate: stop sequences need a tokenizer');
  if (o.numBeams !== undefined && (!Number.isInteger(o.numBeams) || o.numBeams < 1)) throw new InvalidArgumentError(`generate: numBeams must be a positive integer, got ${describe(o.numBeams)}`);
  for (const p of o.logitsProcessors ?? []) if (!p || typeof p.process !== 'function') throw new InvalidArgumentError(`generate: logitsProcessors must implement process(inputIds, logits), got ${describe(p)}`);
  return { maxNew };
}

/**
 * Next-token logits [B, V] for sequences of equal length. With a cache, only the tokens the cache
 * has not seen are fed; when learned positions run out, the window slides (the cache is rebuilt
 * from the last nPositions tokens, as an uncached model cropping its input would see).
 */
function nextLogits(model: GPT, seqs: number[][], cache: KVCache | null): Tensor2D {
  const N = model.config.nPositions;
  const learned = model.config.positionEmbedding === 'learned';
  const len = seqs[0]!.length;
  const crop = (s: number[]) => (learned && s.length > N ? s.slice(s.length - N) : s);
  let logits;
  if (!cache) logits = model.forward(seqs.map(crop), { lastOnly: true });
  else if (cache.length > 0 && cache.length < len && len <= N) logits = model.forward(seqs.map((s) => s.slice(cache.length)), { cache, lastOnly: true });
  else {
    cache.clear();
    logits = model.forward(seqs.map(crop), { cache, lastOnly: true });
  }
  const out = tf.reshape(logits, [seqs.length, model.config.vocabSize]) as Tensor2D;
  logits.dispose();
  return out;
}

/** Runs the user's processors on [B, V] logits rows (tensor in, rows out). */
function applyProcessors(processors: readonly LogitsProcessor[], seqs: number[][], rows: Float32Array[]): Float32Array[] {
  if (!processors.length) return rows;
  const V = rows[0]!.length;
  const flat = new Float32Array(rows.length * V);
  rows.forEach((r, i) => flat.set(r, i * V));
  let t = tf.tensor2d(flat, [rows.length, V]);
  for (const p of processors) {
    const next = p.process(seqs, t);
    if (next !== t) t.dispose();
    t = next;
  }
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return rows.map((_, i) => Float32Array.from(data.subarray(i * V, (i + 1) * V)));
}

function toRows(t: Tensor2D): Float32Array[] {
  const [B, V] = t.shape;
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return Array.from({ length: B }, (_, b) => Float32Array.from(d.subarray(b * V, (b + 1) * V)));
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Decodes new ids incrementally; holds back a trailing U+FFFD (an incomplete UTF-8 sequence). */
class TextStream {
  private emitted = '';
  constructor(private readonly tokenizer: TextTokenizer) {}
  full(ids: number[]): string {
    return this.tokenizer.decode(ids);
  }
  delta(ids: number[]): string {
    const text = this.full(ids);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.emitted)) return '';
    const d = text.slice(this.emitted.length);
    this.emitted = text;
    return d;
  }
}

function promptIds(prompt: readonly number[] | string, tokenizer?: TextTokenizer): number[] {
  if (typeof prompt === 'string') {
    if (!tokenizer) throw new InvalidArgumentError('generate: a text prompt needs a tokenizer');
    return tokenizer.encode(prompt);
  }
  return [...prompt];
}

/**
 * Autoregressive generation from a prompt (ids, or text with `tokenizer`): greedy, sampling with
 * temperature / top-k / top-p from a seeded Rng, repetition penalty, stop sequences and stop
 * tokens, a streaming callback, pluggable logits processors, or beam search (`numBeams`).
 */
export async function generate(model: GPT, prompt: readonly number[] | string, options: GenerateOptions = {}): Promise<GenerateResult> {
  const ids0 = promptIds(prompt, options.tokenizer);
  const { maxNew } = checkOptions(model, ids0, options);
  if ((options.numBeams ?? 1) > 1) return beamSearch(model, ids0, maxNew, options);
  const wasTraining = model.training;
  model.eval();
  const cache = options.useCache === false ? null : model.createCache();
  const rng = options.seed instanceof Rng ? options.seed : options.seed !== undefined ? new Rng(options.seed) : rngFor();
  const greedy = options.greedy || options.temperature === 0;
  const stream = options.tokenizer ? new TextStream(options.tokenizer) : null;
  const stopTokens = new Set(options.stopTokens ?? []);
  const seq = [...ids0];
  const out: number[] = [];
  let finishReason: GenerateResult['finishReason'] = 'length';
  let text: string | undefined;
  try {
    while (out.length < maxNew) {
      let [row] = toRows(nextLogits(model, [seq], cache));
      if (options.repetitionPenalty) repetitionPenaltyRow(row!, seq, options.repetitionPenalty);
      [row] = applyProcessors(options.logitsProcessors ?? [], [seq], [row!]);
      let id: number;
      if (greedy) id = argmax(row!);
      else {
        temperatureRow(row!, options.temperature ?? 1);
        if (options.topK) topKRow(row!, options.topK);
        if (options.topP !== undefined) topPRow(row!, options.topP);
        const probs = softmaxRow(row!);
        const u = rng.uniform();
        let c = 0;
        id = probs.length - 1;
        for (let i = 0; i < probs.length; i++) {
          c += probs[i]!;
          if (u < c) {
            id = i;
            break;
          }
        }
        while (probs[id] === 0 && id > 0) id--; // rounding past the end: last possible token
      }
      seq.push(id);
      out.push(id);
      const delta = stream ? stream.delta(out) : undefined;
      if (options.onToken && options.onToken({ id, index: out.length - 1, text: delta }) === false) {
        finishReason = 'callback';
        break;
      }
      if (stopTokens.has(id)) {
        finishReason = 'stop-token';
        break;
      }
      if (options.stop?.length) {
        const full = stream!.full(out);
        const hit = options.stop.map((s) => full.indexOf(s)).filter((i) => i >= 0);
        if (hit.length) {
          text = full.slice(0, Math.min(...hit));
          finishReason = 'stop';
          break;
        }
      }
    }
  } finally {
    cache?.dispose();
    model.train(wasTraining);
  }
  if (stream && text === undefined) text = stream.full(out);
  return { ids: out, sequence: seq, text, finishReason };
}

interface Beam {
  seq: number[];
  /** Sum of log-probabilities of the new tokens. */
  score: number;
}

/** Beam search (HF's length-normalised hypotheses; a beam ending in a stop token is finished). */
async function beamSearch(model: GPT, prompt: number[], maxNew: number, o: GenerateOptions): Promise<GenerateResult> {
  const N = o.numBeams!;
  const lp = o.lengthPenalty ?? 1;
  const stopTokens = new Set(o.stopTokens ?? []);
  const wasTraining = model.training;
  model.eval();
  const cache = o.useCache === false ? null : model.createCache();
  const norm = (b: Beam) => b.score / Math.max(1, b.seq.length - prompt.length) ** lp;
  let beams: Beam[] = [{ seq: [...prompt], score: 0 }];
  const finished: Beam[] = [];
  try {
    for (let step = 0; step < maxNew && beams.length; step++) {
      const seqs = beams.map((b) => b.seq);
      let rows = toRows(nextLogits(model, seqs, cache));
      if (o.repetitionPenalty) rows.forEach((r, i) => repetitionPenaltyRow(r, seqs[i]!, o.repetitionPenalty!));
      rows = applyProcessors(o.logitsProcessors ?? [], seqs, rows);
      // The best 2N continuations over all beams.
      const top = bestContinuations(beams.map((b) => b.score), rows.map(logSoftmaxRow), 2 * N);
      const next: Beam[] = [];
      const origin: number[] = [];
      for (const c of top) {
        if (c.score === -Infinity) continue;
        const beam = { seq: [...beams[c.b]!.seq, c.id], score: c.score };
        if (stopTokens.has(c.id)) finished.push(beam);
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
    cache?.dispose();
    model.train(wasTraining);
  }
  const all = [...finished, ...beams];
  if (!all.length) return { ids: [], sequence: [...prompt], finishReason: 'length', score: 0 };
  const best = all.reduce((a, b) => (norm(b) > norm(a) ? b : a));
  const ids = best.seq.slice(prompt.length);
  return {
    ids,
    sequence: best.seq,
    text: o.tokenizer ? o.tokenizer.decode(ids) : undefined,
    finishReason: stopTokens.has(ids[ids.length - 1]!) ? 'stop-token' : 'length',
    score: norm(best),
  };
}
