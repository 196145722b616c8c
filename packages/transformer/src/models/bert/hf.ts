import { FormatError, InvalidArgumentError, parseSafetensors, rawToTensor, saveSafetensors, type Tensor } from '@nutshell/core';
import { StateDictError, writeFileAtomic } from '@nutshell/nn';
import { BertForSequenceClassification } from './classification.js';
import { bertConfigFromHf, bertConfigToHf } from './config.js';
import { BertForMaskedLM } from './mlm.js';
import { BertModel } from './model.js';

/** Which BERT a checkpoint is loaded as: the bare encoder, the MLM model or the classifier. */
export type BertKind = 'base' | 'mlm' | 'classification';
export type AnyBert = BertModel | BertForMaskedLM | BertForSequenceClassification;
type ModelOf<K extends BertKind> = K extends 'base' ? BertModel : K extends 'mlm' ? BertForMaskedLM : BertForSequenceClassification;

const KINDS = new Set<string>(['base', 'mlm', 'classification']);

const ARCH: Record<string, BertKind> = {
  BertModel: 'base',
  BertForMaskedLM: 'mlm',
  BertForPreTraining: 'mlm',
  BertForSequenceClassification: 'classification',
};

/** The kind a config.json's `architectures` names (default 'base'). */
export function bertKindOf(config: Record<string, unknown>): BertKind {
  const a = Array.isArray(config.architectures) ? String(config.architectures[0]) : '';
  return ARCH[a] ?? 'base';
}

/**
 * HF checkpoint key → our key for a model of `kind`, or null to skip. Handles the `bert.` prefix
 * (present in head models, absent in BertModel saves), TF-era `gamma`/`beta` LayerNorm names, the
 * position_ids / token_type_ids buffers, the tied decoder copies and heads of other kinds
 * (next-sentence prediction, pooler of a pre-training checkpoint).
 */
function mapKey(key: string, kind: BertKind, tied: boolean): string | null {
  let k = key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  if (/embeddings\.(position_ids|token_type_ids)$/.test(k)) return null;
  if (k.startsWith('cls.seq_relationship.') || k === 'cls.predictions.decoder.bias') return null;
  if (tied && k === 'cls.predictions.decoder.weight') return null;
  const body = k.startsWith('bert.') ? k.slice(5) : /^(embeddings|encoder|pooler)\./.test(k) ? k : null;
  if (kind === 'base') return body === null ? null : body;
  if (body !== null) {
    if (kind === 'mlm' && body.startsWith('pooler.')) return null;
    return `bert.${body}`;
  }
  if (kind === 'classification' && k.startsWith('cls.')) return null;
  return k;
}

function build(kind: BertKind, config: ReturnType<typeof bertConfigFromHf>, addPooler: boolean): AnyBert {
  if (kind === 'mlm') return new BertForMaskedLM(config, { seed: 0 });
  if (kind === 'classification') return new BertForSequenceClassification(config, { seed: 0 });
  return new BertModel(config, { seed: 0, addPoolingLayer: addPooler });
}

/** Builds a BERT from a parsed HF `config.json` object and `model.safetensors` bytes; kind defaults to the config's architecture. */
export function bertFromBytes<K extends BertKind>(config: Record<string, unknown>, safetensors: Uint8Array, kind?: K): ModelOf<K> {
  const k: BertKind = kind ?? bertKindOf(config);
  if (!KINDS.has(k)) throw new InvalidArgumentError(`bertFromBytes: kind must be 'base', 'mlm' or 'classification', got ${JSON.stringify(k)}`);
  const cfg = bertConfigFromHf(config);
  const parsed = parseSafetensors(safetensors);
  const keys = new Map<string, string>();
  for (const key of Object.keys(parsed.tensors)) {
    const m = mapKey(key, k, cfg.tieWordEmbeddings);
    if (m !== null) keys.set(m, key);
  }
  const model = build(k, cfg, keys.has('pooler.dense.weight'));
  const dict: Record<string, Tensor> = {};
  try {
    for (const [ours, theirs] of keys) dict[ours] = rawToTensor(parsed.tensors[theirs]!, theirs);
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError) {
      throw new FormatError('BERT safetensors', `${e.message.replace(/^loadStateDict: /, '')} (loading as ${k}; config num_hidden_layers=${cfg.numHiddenLayers}, hidden_size=${cfg.hiddenSize}, vocab_size=${cfg.vocabSize})`);
    }
    throw e;
  } finally {
    for (const t of Object.values(dict)) t.dispose();
  }
  model.eval();
  return model as ModelOf<K>;
}

function architectureOf(model: AnyBert): string {
  if (model instanceof BertForMaskedLM) return 'BertForMaskedLM';
  if (model instanceof BertForSequenceClassification) return 'BertForSequenceClassification';
  if (model instanceof BertModel) return 'BertModel';
  throw new InvalidArgumentError(`saveBert: expected a BertModel, BertForMaskedLM or BertForSequenceClassification, got ${String((model as object)?.constructor?.name)}`);
}

/** The files of a BERT in Hugging Face layout: `config.json` text and `model.safetensors` bytes (tied decoder saved once). */
export function bertToBytes(model: AnyBert, extraConfig: Record<string, unknown> = {}): { config: string; safetensors: Uint8Array } {
  const arch = architectureOf(model);
  const config = `${JSON.stringify(bertConfigToHf(model.config, arch, extraConfig), null, 2)}\n`;
  return { config, safetensors: saveSafetensors(model.stateDict(), { metadata: { format: 'pt' } }) };
}

/** Loads `config.json` + `model.safetensors` (Hugging Face BERT layout) from a folder. Node only. */
export async function loadBert<K extends BertKind = BertKind>(dir: string, kind?: K): Promise<ModelOf<K>> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name));
    } catch (e) {
      throw new InvalidArgumentError(`loadBert: cannot read ${join(dir, name)}: ${(e as Error).message}`);
    }
  };
  let config: Record<string, unknown>;
  try {
    const j = JSON.parse((await read('config.json')).toString('utf8')) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not a JSON object');
    config = j as Record<string, unknown>;
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new FormatError('config.json', `${join(dir, 'config.json')}: ${(e as Error).message}`);
  }
  return bertFromBytes(config, new Uint8Array(await read('model.safetensors')), kind);
}

/** Writes `config.json` + `model.safetensors` in Hugging Face BERT layout (atomic writes). Node only. */
export async function saveBert(model: AnyBert, dir: string, extraConfig: Record<string, unknown> = {}): Promise<string[]> {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { config, safetensors } = bertToBytes(model, extraConfig);
  await mkdir(dir, { recursive: true });
  const files = [join(dir, 'config.json'), join(dir, 'model.safetensors')];
  await writeFileAtomic(files[0]!, config);
  await writeFileAtomic(files[1]!, safetensors);
  return files;
}
