import { InvalidArgumentError, describe } from '@nutshell/core';

export type GptActivation = 'gelu_new' | 'gelu' | 'relu' | 'silu';
export type PositionEmbedding = 'learned' | 'rope';

/** A GPT decoder's shape and options (GPT-2 defaults where one exists). */
export interface GptConfig {
  vocabSize: number;
  /** Context length (GPT-2's n_positions). */
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** Hidden width of the MLP (GPT-2's n_inner; default 4·nEmbd). */
  nInner: number;
  /** Dropout on embeddings, attention weights and residual branches (GPT-2: embd/attn/resid_pdrop). */
  dropout: number;
  /** Biases in the linear layers and layer norms. */
  bias: boolean;
  /** lm_head shares wte's weight. */
  tieWeights: boolean;
  /** Pre-LN (GPT-2) or post-LN (original Transformer) residual blocks. */
  preLN: boolean;
  layerNormEps: number;
  activation: GptActivation;
  /** Learned absolute positions (GPT-2's wpe) or rotary embeddings on q and k. */
  positionEmbedding: PositionEmbedding;
  ropeTheta: number;
  /** Standard deviation of the N(0, σ) weight init (GPT-2's initializer_range). */
  initializerRange: number;
}

export type GptConfigInput = Partial<GptConfig> & Pick<GptConfig, 'vocabSize'>;

const ACTIVATIONS: GptActivation[] = ['gelu_new', 'gelu', 'relu', 'silu'];

function posInt(name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new InvalidArgumentError(`GPT config: ${name} must be a positive integer, got ${describe(v)}`);
  return v as number;
}

/** Fills defaults (GPT-2 small's proportions, scaled down) and validates; throws InvalidArgumentError. */
export function gptConfig(input: GptConfigInput): GptConfig {
  if (!input || typeof input !== 'object') throw new InvalidArgumentError(`GPT config: expected an object, got ${describe(input)}`);
  const nEmbd = posInt('nEmbd', input.nEmbd ?? 128);
  const nHead = posInt('nHead', input.nHead ?? 4);
  if (nEmbd % nHead !== 0) throw new InvalidArgumentError(`GPT config: nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
  const c: GptConfig = {
    vocabSize: posInt('vocabSize', input.vocabSize),
    nPositions: posInt('nPositions', input.nPositions ?? 64),
    nEmbd,
    nLayer: posInt('nLayer', input.nLayer ?? 4),
    nHead,
    nInner: posInt('nInner', input.nInner ?? 4 * nEmbd),
    dropout: input.dropout ?? 0,
    bias: input.bias ?? true,
    tieWeights: input.tieWeights ?? true,
    preLN: input.preLN ?? true,
    layerNormEps: input.layerNormEps ?? 1e-5,
    activation: input.activation ?? 'gelu_new',
    positionEmbedding: input.positionEmbedding ?? 'learned',
    ropeTheta: input.ropeTheta ?? 10000,
    initializerRange: input.initializerRange ?? 0.02,
  };
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new InvalidArgumentError(`GPT config: dropout must be in [0, 1), got ${describe(c.dropout)}`);
  if (!(c.layerNormEps > 0)) throw new InvalidArgumentError(`GPT config: layerNormEps must be > 0, got ${describe(c.layerNormEps)}`);
  if (!ACTIVATIONS.includes(c.activation)) throw new InvalidArgumentError(`GPT config: activation must be one of ${ACTIVATIONS.join(', ')}, got ${describe(c.activation)}`);
  if (c.positionEmbedding !== 'learned' && c.positionEmbedding !== 'rope') throw new InvalidArgumentError(`GPT config: positionEmbedding must be 'learned' or 'rope', got ${describe(c.positionEmbedding)}`);
  if (c.positionEmbedding === 'rope' && (nEmbd / nHead) % 2 !== 0) throw new InvalidArgumentError(`GPT config: rotary embeddings need an even head size, got ${nEmbd / nHead}`);
  for (const k of ['bias', 'tieWeights', 'preLN'] as const) if (typeof c[k] !== 'boolean') throw new InvalidArgumentError(`GPT config: ${k} must be a boolean, got ${describe(c[k])}`);
  return c;
}

const HF_ACT: Record<string, GptActivation> = { gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', gelu: 'gelu', relu: 'relu', silu: 'silu', swish: 'silu' };

/**
 * Hugging Face GPT-2 `config.json` → GptConfig. Keys HF does not have (bias, pre-LN, rotary) are
 * read from `nutshell_*` keys that HF ignores.
 */
export function configFromHf(json: Record<string, unknown>): GptConfig {
  const act = String(json.activation_function ?? 'gelu_new');
  if (!(act in HF_ACT)) throw new InvalidArgumentError(`GPT-2 config.json: unsupported activation_function ${JSON.stringify(act)}`);
  if (json.model_type !== undefined && json.model_type !== 'gpt2') throw new InvalidArgumentError(`GPT-2 config.json: model_type is ${JSON.stringify(json.model_type)}, expected "gpt2"`);
  if (json.scale_attn_weights === false) throw new InvalidArgumentError('GPT-2 config.json: scale_attn_weights=false is not supported');
  const drops = [json.embd_pdrop, json.attn_pdrop, json.resid_pdrop].filter((x): x is number => typeof x === 'number');
  return gptConfig({
    vocabSize: json.vocab_size as number,
    nPositions: (json.n_positions ?? json.n_ctx) as number,
    nEmbd: json.n_embd as number,
    nLayer: json.n_layer as number,
    nHead: json.n_head as number,
    nInner: (json.n_inner ?? undefined) as number | undefined,
    layerNormEps: (json.layer_norm_epsilon ?? 1e-5) as number,
    activation: HF_ACT[act],
    dropout: drops.length ? Math.max(...drops) : 0,
    tieWeights: (json.tie_word_embeddings ?? true) as boolean,
    initializerRange: (json.initializer_range ?? 0.02) as number,
    bias: (json.nutshell_bias ?? true) as boolean,
    preLN: (json.nutshell_pre_ln ?? true) as boolean,
    positionEmbedding: (json.nutshell_position_embedding ?? 'learned') as PositionEmbedding,
    ropeTheta: (json.nutshell_rope_theta ?? 10000) as number,
  });
}

/** GptConfig → a Hugging Face GPT-2 `config.json` object (plus nutshell_* keys for non-GPT-2 options). */
export function configToHf(c: GptConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    activation_function: c.activation === 'gelu' ? 'gelu' : c.activation,
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: c.dropout,
    bos_token_id: c.vocabSize - 1,
    embd_pdrop: c.dropout,
    eos_token_id: c.vocabSize - 1,
    initializer_range: c.initializerRange,
    layer_norm_epsilon: c.layerNormEps,
    model_type: 'gpt2',
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_head: c.nHead,
    n_inner: c.nInner === 4 * c.nEmbd ? null : c.nInner,
    n_layer: c.nLayer,
    n_positions: c.nPositions,
    resid_pdrop: c.dropout,
    scale_attn_weights: true,
    tie_word_embeddings: c.tieWeights,
    use_cache: true,
    vocab_size: c.vocabSize,
  };
  if (!c.bias) out.nutshell_bias = false;
  if (!c.preLN) out.nutshell_pre_ln = false;
  if (c.positionEmbedding !== 'learned') {
    out.nutshell_position_embedding = c.positionEmbedding;
    out.nutshell_rope_theta = c.ropeTheta;
  }
  return { ...out, ...extra };
}
