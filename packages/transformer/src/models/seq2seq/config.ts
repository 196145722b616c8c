import { InvalidArgumentError, describe } from '@nutshell/core';

export type T5Activation = 'relu' | 'gelu' | 'gelu_new' | 'silu';

/** A T5 encoder–decoder's shape (Hugging Face T5Config's fields, camelCased). */
export interface T5Config {
  vocabSize: number;
  dModel: number;
  /** Size of one head's keys, queries and values (attention inner dim = numHeads·dKv). */
  dKv: number;
  dFf: number;
  /** Encoder blocks. */
  numLayers: number;
  numDecoderLayers: number;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  dropoutRate: number;
  layerNormEpsilon: number;
  /** HF's feed_forward_proj: "relu" (T5 v1.0) or "gated-gelu" (v1.1), or "[gated-]ACT". */
  feedForwardProj: string;
  /** Derived from feedForwardProj as HF does ("gated-gelu" → gelu_new). */
  denseActFn: T5Activation;
  isGatedAct: boolean;
  /** lm_head shares `shared` and the decoder output is scaled by dModel^−0.5 (v1.0); v1.1 unties. */
  tieWordEmbeddings: boolean;
  initializerFactor: number;
  padTokenId: number;
  eosTokenId: number;
  decoderStartTokenId: number;
}

export type T5ConfigInput = Partial<Omit<T5Config, 'denseActFn' | 'isGatedAct'>> & Pick<T5Config, 'vocabSize'>;

const ACTS: Record<string, T5Activation> = { relu: 'relu', gelu: 'gelu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', silu: 'silu', swish: 'silu' };

function posInt(name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new InvalidArgumentError(`T5 config: ${name} must be a positive integer, got ${describe(v)}`);
  return v as number;
}

function tokenId(name: string, v: unknown, vocab: number): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= vocab) throw new InvalidArgumentError(`T5 config: ${name} must be a token id in [0, ${vocab}), got ${describe(v)}`);
  return v as number;
}

/** HF T5Config's parsing of feed_forward_proj: "ACT" or "gated-ACT"; "gated-gelu" means gelu_new. */
export function parseFeedForwardProj(proj: string): { denseActFn: T5Activation; isGatedAct: boolean } {
  const parts = String(proj).split('-');
  const gated = parts[0] === 'gated';
  if ((parts.length > 1 && !gated) || parts.length > 2) throw new InvalidArgumentError(`T5 config: feed_forward_proj ${JSON.stringify(proj)} is not "ACT" or "gated-ACT"`);
  const act = proj === 'gated-gelu' ? 'gelu_new' : parts[parts.length - 1]!;
  if (!(act in ACTS)) throw new InvalidArgumentError(`T5 config: unsupported activation ${JSON.stringify(act)} (supported: ${Object.keys(ACTS).join(', ')})`);
  return { denseActFn: ACTS[act]!, isGatedAct: gated };
}

/** Fills defaults (a small T5 v1.0 shape) and validates; throws InvalidArgumentError. */
export function t5Config(input: T5ConfigInput): T5Config {
  if (!input || typeof input !== 'object') throw new InvalidArgumentError(`T5 config: expected an object, got ${describe(input)}`);
  const vocabSize = posInt('vocabSize', input.vocabSize);
  const dModel = posInt('dModel', input.dModel ?? 64);
  const numHeads = posInt('numHeads', input.numHeads ?? 4);
  const numLayers = posInt('numLayers', input.numLayers ?? 2);
  const feedForwardProj = input.feedForwardProj ?? 'relu';
  const c: T5Config = {
    vocabSize,
    dModel,
    dKv: posInt('dKv', input.dKv ?? Math.max(1, Math.floor(dModel / numHeads))),
    dFf: posInt('dFf', input.dFf ?? 4 * dModel),
    numLayers,
    numDecoderLayers: posInt('numDecoderLayers', input.numDecoderLayers ?? numLayers),
    numHeads,
    relativeAttentionNumBuckets: posInt('relativeAttentionNumBuckets', input.relativeAttentionNumBuckets ?? 32),
    relativeAttentionMaxDistance: posInt('relativeAttentionMaxDistance', input.relativeAttentionMaxDistance ?? 128),
    dropoutRate: input.dropoutRate ?? 0,
    layerNormEpsilon: input.layerNormEpsilon ?? 1e-6,
    feedForwardProj,
    ...parseFeedForwardProj(feedForwardProj),
    tieWordEmbeddings: input.tieWordEmbeddings ?? true,
    initializerFactor: input.initializerFactor ?? 1,
    padTokenId: 0,
    eosTokenId: 1,
    decoderStartTokenId: 0,
  };
  c.padTokenId = tokenId('padTokenId', input.padTokenId ?? 0, vocabSize);
  c.eosTokenId = tokenId('eosTokenId', input.eosTokenId ?? 1, vocabSize);
  c.decoderStartTokenId = tokenId('decoderStartTokenId', input.decoderStartTokenId ?? c.padTokenId, vocabSize);
  if (c.relativeAttentionNumBuckets < 2) throw new InvalidArgumentError(`T5 config: relativeAttentionNumBuckets must be ≥ 2, got ${c.relativeAttentionNumBuckets}`);
  if (!(c.dropoutRate >= 0 && c.dropoutRate < 1)) throw new InvalidArgumentError(`T5 config: dropoutRate must be in [0, 1), got ${describe(c.dropoutRate)}`);
  if (!(c.layerNormEpsilon > 0)) throw new InvalidArgumentError(`T5 config: layerNormEpsilon must be > 0, got ${describe(c.layerNormEpsilon)}`);
  if (!(c.initializerFactor > 0)) throw new InvalidArgumentError(`T5 config: initializerFactor must be > 0, got ${describe(c.initializerFactor)}`);
  if (typeof c.tieWordEmbeddings !== 'boolean') throw new InvalidArgumentError(`T5 config: tieWordEmbeddings must be a boolean, got ${describe(c.tieWordEmbeddings)}`);
  return c;
}

/** Hugging Face T5 `config.json` → T5Config. */
export function t5ConfigFromHf(json: Record<string, unknown>): T5Config {
  if (json.model_type !== undefined && json.model_type !== 't5') throw new InvalidArgumentError(`T5 config.json: model_type is ${JSON.stringify(json.model_type)}, expected "t5"`);
  return t5Config({
    vocabSize: json.vocab_size as number,
    dModel: json.d_model as number,
    dKv: json.d_kv as number,
    dFf: json.d_ff as number,
    numLayers: json.num_layers as number,
    numDecoderLayers: (json.num_decoder_layers ?? json.num_layers) as number,
    numHeads: json.num_heads as number,
    relativeAttentionNumBuckets: (json.relative_attention_num_buckets ?? 32) as number,
    relativeAttentionMaxDistance: (json.relative_attention_max_distance ?? 128) as number,
    dropoutRate: (json.dropout_rate ?? 0.1) as number,
    layerNormEpsilon: (json.layer_norm_epsilon ?? 1e-6) as number,
    feedForwardProj: (json.feed_forward_proj ?? 'relu') as string,
    tieWordEmbeddings: (json.tie_word_embeddings ?? true) as boolean,
    initializerFactor: (json.initializer_factor ?? 1) as number,
    padTokenId: (json.pad_token_id ?? 0) as number,
    eosTokenId: (json.eos_token_id ?? 1) as number,
    decoderStartTokenId: (json.decoder_start_token_id ?? json.pad_token_id ?? 0) as number,
  });
}

/** T5Config → a Hugging Face T5 `config.json` object. */
export function t5ConfigToHf(c: T5Config, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['T5ForConditionalGeneration'],
    d_ff: c.dFf,
    d_kv: c.dKv,
    d_model: c.dModel,
    decoder_start_token_id: c.decoderStartTokenId,
    dense_act_fn: c.denseActFn,
    dropout_rate: c.dropoutRate,
    eos_token_id: c.eosTokenId,
    feed_forward_proj: c.feedForwardProj,
    initializer_factor: c.initializerFactor,
    is_encoder_decoder: true,
    is_gated_act: c.isGatedAct,
    layer_norm_epsilon: c.layerNormEpsilon,
    model_type: 't5',
    num_decoder_layers: c.numDecoderLayers,
    num_heads: c.numHeads,
    num_layers: c.numLayers,
    pad_token_id: c.padTokenId,
    relative_attention_max_distance: c.relativeAttentionMaxDistance,
    relative_attention_num_buckets: c.relativeAttentionNumBuckets,
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: c.vocabSize,
    ...extra,
  };
}
