import { FormatError, InvalidArgumentError, rawToTensor, type RawTensor } from '@nutshell/core';
import { ggmlTypeInfo, type GgmlType } from '../ggml/types.js';
import { gguf } from '../gguf/values.js';
import { writeGguf, type GgufTensorInput } from '../gguf/writer.js';
import { gpt2TokenizerMetadata, type BpeTokenizerData } from '../gguf/tokenizer.js';

export type GgufQuant = 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q4_k' | 'q6_k';
export const GGUF_QUANTS: readonly GgufQuant[] = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q4_k', 'q6_k'];

/** llama.cpp's `llama_ftype` for general.file_type (K-quants: the _S variant, as every 2-D tensor uses the type). */
const FILE_TYPE: Record<GgufQuant, number> = { f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q4_k: 14, q6_k: 18 };

/** HF GPT-2 config.json fields the exporter reads. */
export interface Gpt2Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions?: number;
  n_ctx?: number;
  n_inner?: number | null;
  layer_norm_epsilon?: number;
  vocab_size?: number;
}

// Hugging Face GPT-2 tensor names → llama.cpp's (gguf-py MODEL_TENSOR names for MODEL_ARCH.GPT2).
const BLOCK_MAP: Record<string, string> = {
  'ln_1': 'attn_norm', 'attn.c_attn': 'attn_qkv', 'attn.c_proj': 'attn_output',
  'ln_2': 'ffn_norm', 'mlp.c_fc': 'ffn_up', 'mlp.c_proj': 'ffn_down',
};
const TOP_MAP: Record<string, string> = { 'wte.weight': 'token_embd.weight', 'wpe.weight': 'position_embd.weight', 'ln_f.weight': 'output_norm.weight', 'ln_f.bias': 'output_norm.bias', 'lm_head.weight': 'output.weight' };
/** HF GPT-2 uses Conv1D layers with weights stored [in, out]; ggml wants [out, in] (as llama.cpp's converter transposes). */
const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

/** The GGUF name of a HF GPT-2 tensor, or null for buffers llama.cpp drops (attn.bias masks). */
export function gpt2GgufName(hfName: string): string | null {
  const name = hfName.replace(/^transformer\./, '');
  if (/\.attn\.(bias|masked_bias)$/.test(name)) return null;
  if (TOP_MAP[name]) return TOP_MAP[name]!;
  const m = /^h\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (m && BLOCK_MAP[m[2]!]) return `blk.${m[1]}.${BLOCK_MAP[m[2]!]}.${m[3]}`;
  throw new FormatError('gpt2', `unexpected tensor '${hfName}' for a GPT-2 checkpoint`);
}

function tensorType(quant: GgufQuant, shape: number[]): GgmlType {
  if (shape.length < 2) return 'F32';
  if (quant === 'f32') return 'F32';
  if (quant === 'f16') return 'F16';
  const t = quant.toUpperCase() as GgmlType;
  const row = shape[shape.length - 1]!;
  if (row % ggmlTypeInfo(t).blockSize === 0) return t;
  // Rows that do not fill whole blocks: Q8_0 when 32 divides them (llama.cpp's K-quant fallback), else F16.
  return row % 32 === 0 ? 'Q8_0' : 'F16';
}

function float32Of(raw: RawTensor, name: string): Float32Array {
  const t = rawToTensor(raw, name);
  try {
    if (t.dtype !== 'float32') throw new FormatError('gpt2', `'${name}' is ${raw.dtype}, expected a float tensor`);
    return Float32Array.from(t.dataSync());
  } finally {
    t.dispose();
  }
}

function transpose2d(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c]!;
  return out;
}

/**
 * A GGUF v3 file for llama.cpp's `gpt2` architecture from a Hugging Face GPT-2 checkpoint (config.json
 * + safetensors tensors): names mapped to token_embd / position_embd / blk.N.attn_qkv / … / output,
 * Conv1D weights transposed to [out, in], 2-D weights in `quant` (rows that do not fill whole blocks
 * fall back to Q8_0 or F16), 1-D tensors in F32, and the gpt2.* hyperparameters. Without lm_head the
 * tied output matrix is written from wte, as llama.cpp's converter does. With `tokenizer` (vocab +
 * merges), the tokenizer.ggml.* keys llama.cpp loads a GPT-2 BPE vocabulary from are written too
 * (padded to the embedding's rows with UNUSED `[PAD{id}]` tokens).
 */
export function exportGpt2Gguf(config: Gpt2Config, tensors: Record<string, RawTensor>, quant: GgufQuant = 'f16', name = 'gpt2', tokenizer?: BpeTokenizerData): Uint8Array {
  if (!GGUF_QUANTS.includes(quant)) throw new InvalidArgumentError(`--quant must be one of ${GGUF_QUANTS.join(', ')}, got ${JSON.stringify(quant)}`);
  for (const k of ['n_layer', 'n_head', 'n_embd'] as const) {
    if (!Number.isInteger(config?.[k]) || config[k] < 1) throw new FormatError('gpt2', `config.json: '${k}' must be a positive integer, got ${JSON.stringify(config?.[k])}`);
  }
  const out: GgufTensorInput[] = [];
  const seen = new Set<string>();
  let wte: { values: Float32Array; shape: number[] } | null = null;
  for (const [hf, raw] of Object.entries(tensors)) {
    const gname = gpt2GgufName(hf);
    if (!gname) continue;
    let values = float32Of(raw, hf);
    let shape = [...raw.shape];
    if (CONV1D.test(hf)) {
      if (shape.length !== 2) throw new FormatError('gpt2', `'${hf}' must be 2-D, got [${shape.join(', ')}]`);
      values = transpose2d(values, shape[0]!, shape[1]!);
      shape = [shape[1]!, shape[0]!];
    }
    if (gname === 'token_embd.weight') wte = { values, shape };
    seen.add(gname);
    out.push({ name: gname, type: tensorType(quant, shape), shape, values });
  }
  if (!wte) throw new FormatError('gpt2', "the checkpoint has no 'wte.weight'");
  if (!seen.has('output.weight')) out.push({ name: 'output.weight', type: tensorType(quant, wte.shape), shape: wte.shape, values: wte.values });
  for (let i = 0; i < config.n_layer; i++) {
    if (!seen.has(`blk.${i}.attn_qkv.weight`)) throw new FormatError('gpt2', `config says ${config.n_layer} layers but 'h.${i}.attn.c_attn.weight' is missing`);
  }
  const ctx = config.n_positions ?? config.n_ctx ?? 1024;
  const vocabRows = (wte as { shape: number[] }).shape[0]!;
  const tok = tokenizer ? gpt2TokenizerMetadata({ vocabSize: vocabRows, ...tokenizer }) : {};
  if (tokenizer && (tok['tokenizer.ggml.tokens']!.value as string[]).length !== vocabRows) {
    throw new FormatError('gpt2', `the tokenizer has ${(tok['tokenizer.ggml.tokens']!.value as string[]).length} tokens, the embedding ${vocabRows} rows`);
  }
  return writeGguf({
    metadata: {
      'general.architecture': 'gpt2',
      'general.name': name,
      'general.file_type': gguf.u32(FILE_TYPE[quant]),
      'gpt2.context_length': gguf.u32(ctx),
      'gpt2.embedding_length': gguf.u32(config.n_embd),
      'gpt2.feed_forward_length': gguf.u32(config.n_inner ?? 4 * config.n_embd),
      'gpt2.block_count': gguf.u32(config.n_layer),
      'gpt2.attention.head_count': gguf.u32(config.n_head),
      'gpt2.attention.layer_norm_epsilon': gguf.f32(config.layer_norm_epsilon ?? 1e-5),
      ...tok,
    },
    tensors: out,
  });
}
