import { InvalidArgumentError, describe } from '@nutshell/core';

export type BertActivation = 'gelu' | 'gelu_new' | 'relu' | 'silu';

/** A BERT encoder's shape and options: Hugging Face BertConfig's fields in camelCase. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** 'gelu' is BERT's exact erf GELU. */
  hiddenAct: BertActivation;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  /** Longest input (learned absolute positions). */
  maxPositionEmbeddings: number;
  /** Segment ids (token_type_ids) in [0, typeVocabSize). */
  typeVocabSize: number;
  initializerRange: number;
  layerNormEps: number;
  padTokenId: number;
  /** Output classes of BertForSequenceClassification (1 = regression with MSE, as HF). */
  numLabels: number;
  /** Dropout before the classifier; null = hiddenDropoutProb (HF classifier_dropout). */
  classifierDropout: number | null;
  /** The MLM decoder shares the word embeddings (HF tie_word_embeddings). */
  tieWordEmbeddings: boolean;
}

export type BertConfigInput = Partial<BertConfig> & Pick<BertConfig, 'vocabSize'>;

const ACTS: BertActivation[] = ['gelu', 'gelu_new', 'relu', 'silu'];

function posInt(name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new InvalidArgumentError(`BERT config: ${name} must be a positive integer, got ${describe(v)}`);
  return v as number;
}

function prob(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new InvalidArgumentError(`BERT config: ${name} must be a probability in [0, 1), got ${describe(v)}`);
  return v;
}

/**
 * Fills defaults and validates; throws InvalidArgumentError. Defaults are BERT's proportions at
 * BERT-Tiny's size (google/bert_uncased_L-2_H-128_A-2): 2 layers, 2 heads, 128 dims, FFN 4·128.
 */
export function bertConfig(input: BertConfigInput): BertConfig {
  if (!input || typeof input !== 'object') throw new InvalidArgumentError(`BERT config: expected an object, got ${describe(input)}`);
  const hiddenSize = posInt('hiddenSize', input.hiddenSize ?? 128);
  const numAttentionHeads = posInt('numAttentionHeads', input.numAttentionHeads ?? 2);
  if (hiddenSize % numAttentionHeads !== 0) {
    throw new InvalidArgumentError(`BERT config: hiddenSize (${hiddenSize}) must be divisible by numAttentionHeads (${numAttentionHeads})`);
  }
  const c: BertConfig = {
    vocabSize: posInt('vocabSize', input.vocabSize),
    hiddenSize,
    numHiddenLayers: posInt('numHiddenLayers', input.numHiddenLayers ?? 2),
    numAttentionHeads,
    intermediateSize: posInt('intermediateSize', input.intermediateSize ?? 4 * hiddenSize),
    hiddenAct: input.hiddenAct ?? 'gelu',
    hiddenDropoutProb: prob('hiddenDropoutProb', input.hiddenDropoutProb ?? 0.1),
    attentionProbsDropoutProb: prob('attentionProbsDropoutProb', input.attentionProbsDropoutProb ?? 0.1),
    maxPositionEmbeddings: posInt('maxPositionEmbeddings', input.maxPositionEmbeddings ?? 128),
    typeVocabSize: posInt('typeVocabSize', input.typeVocabSize ?? 2),
    initializerRange: input.initializerRange ?? 0.02,
    layerNormEps: input.layerNormEps ?? 1e-12,
    padTokenId: input.padTokenId ?? 0,
    numLabels: posInt('numLabels', input.numLabels ?? 2),
    classifierDropout: input.classifierDropout ?? null,
    tieWordEmbeddings: input.tieWordEmbeddings ?? true,
  };
  if (!ACTS.includes(c.hiddenAct)) throw new InvalidArgumentError(`BERT config: hiddenAct must be one of ${ACTS.join(', ')}, got ${describe(c.hiddenAct)}`);
  if (!(typeof c.initializerRange === 'number' && c.initializerRange >= 0)) throw new InvalidArgumentError(`BERT config: initializerRange must be ≥ 0, got ${describe(c.initializerRange)}`);
  if (!(typeof c.layerNormEps === 'number' && c.layerNormEps > 0)) throw new InvalidArgumentError(`BERT config: layerNormEps must be > 0, got ${describe(c.layerNormEps)}`);
  if (!Number.isInteger(c.padTokenId) || c.padTokenId < 0 || c.padTokenId >= c.vocabSize) {
    throw new InvalidArgumentError(`BERT config: padTokenId must be an id in [0, ${c.vocabSize}), got ${describe(c.padTokenId)}`);
  }
  if (c.classifierDropout !== null) prob('classifierDropout', c.classifierDropout);
  if (typeof c.tieWordEmbeddings !== 'boolean') throw new InvalidArgumentError(`BERT config: tieWordEmbeddings must be a boolean, got ${describe(c.tieWordEmbeddings)}`);
  return c;
}

const HF_ACT: Record<string, BertActivation> = { gelu: 'gelu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', relu: 'relu', silu: 'silu', swish: 'silu' };

/** Hugging Face BERT `config.json` → BertConfig (throws InvalidArgumentError on what BERT here does not support). */
export function bertConfigFromHf(json: Record<string, unknown>): BertConfig {
  if (!json || typeof json !== 'object') throw new InvalidArgumentError(`BERT config.json: expected an object, got ${describe(json)}`);
  if (json.model_type !== undefined && json.model_type !== 'bert') throw new InvalidArgumentError(`BERT config.json: model_type is ${JSON.stringify(json.model_type)}, expected "bert"`);
  const act = String(json.hidden_act ?? 'gelu');
  if (!(act in HF_ACT)) throw new InvalidArgumentError(`BERT config.json: unsupported hidden_act ${JSON.stringify(act)}`);
  const pos = json.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') throw new InvalidArgumentError(`BERT config.json: position_embedding_type ${JSON.stringify(pos)} is not supported (only "absolute")`);
  if (json.is_decoder === true || json.add_cross_attention === true) throw new InvalidArgumentError('BERT config.json: decoder / cross-attention BERT is not supported');
  const id2label = json.id2label;
  const numLabels = (json.num_labels as number | undefined) ?? (id2label && typeof id2label === 'object' ? Object.keys(id2label).length : undefined);
  return bertConfig({
    vocabSize: json.vocab_size as number,
    hiddenSize: json.hidden_size as number | undefined,
    numHiddenLayers: json.num_hidden_layers as number | undefined,
    numAttentionHeads: json.num_attention_heads as number | undefined,
    intermediateSize: json.intermediate_size as number | undefined,
    hiddenAct: HF_ACT[act],
    hiddenDropoutProb: (json.hidden_dropout_prob ?? 0.1) as number,
    attentionProbsDropoutProb: (json.attention_probs_dropout_prob ?? 0.1) as number,
    maxPositionEmbeddings: (json.max_position_embeddings ?? 512) as number,
    typeVocabSize: (json.type_vocab_size ?? 2) as number,
    initializerRange: (json.initializer_range ?? 0.02) as number,
    layerNormEps: (json.layer_norm_eps ?? 1e-12) as number,
    padTokenId: (json.pad_token_id ?? 0) as number,
    numLabels,
    classifierDropout: (json.classifier_dropout ?? null) as number | null,
    tieWordEmbeddings: (json.tie_word_embeddings ?? true) as boolean,
  });
}

/** BertConfig → a Hugging Face BERT `config.json` object. */
export function bertConfigToHf(c: BertConfig, architecture: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const labels = Array.from({ length: c.numLabels }, (_, i) => `LABEL_${i}`);
  return {
    architectures: [architecture],
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    classifier_dropout: c.classifierDropout,
    hidden_act: c.hiddenAct,
    hidden_dropout_prob: c.hiddenDropoutProb,
    hidden_size: c.hiddenSize,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    initializer_range: c.initializerRange,
    intermediate_size: c.intermediateSize,
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    layer_norm_eps: c.layerNormEps,
    max_position_embeddings: c.maxPositionEmbeddings,
    model_type: 'bert',
    num_attention_heads: c.numAttentionHeads,
    num_hidden_layers: c.numHiddenLayers,
    pad_token_id: c.padTokenId,
    position_embedding_type: 'absolute',
    tie_word_embeddings: c.tieWordEmbeddings,
    type_vocab_size: c.typeVocabSize,
    use_cache: true,
    vocab_size: c.vocabSize,
    ...extra,
  };
}
