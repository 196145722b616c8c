import type { TextTokenizer } from '@nutshell/core';
import { LoraModel, loadPeftFiles, type PeftAdapterFiles } from '@nutshell/finetune-lora';
import { quantizeModel, sizeReport } from '@nutshell/quantize';
import { gpt2FromBytes, type GPT } from '@nutshell/transformer';
import { streamGenerate, type StreamOptions } from './stream.js';
import { textLoss } from './text-eval.js';

export type Precision = 'fp32' | 'int8' | 'nf4';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8', 'nf4'];

export interface VariantResult {
  precision: Precision;
  /** Stored bytes of the projection/embedding weights (packed codes + scales when quantized). */
  weightBytes: number;
  /** Everything stored: weights, norms, biases. */
  totalBytes: number;
  bitsPerParam: number;
  quantizedLayers: number;
  perplexity: number;
  tokensPerSecond: number;
  text: string;
}

/**
 * A fresh copy of the model from its GPT-2 files, with an adapter merged in when given (so the
 * comparison covers what the page generates with), quantized to `precision` by quantize's
 * quantizeModel: every Conv1D projection (int8 per output channel, or NF4 blocks of 64 with
 * double-quantized scales); embeddings and the tied head stay float32.
 */
export function buildVariant(base: { config: string; safetensors: Uint8Array }, precision: Precision, adapter?: PeftAdapterFiles): { model: GPT; quantizedLayers: number } {
  const model = gpt2FromBytes(JSON.parse(base.config) as Record<string, unknown>, base.safetensors);
  try {
    if (adapter) {
      const lora = new LoraModel(model, null);
      loadPeftFiles(lora, adapter, 'merged');
      lora.mergeAndUnload();
    }
    const quantizedLayers = precision === 'fp32' ? 0 : quantizeModel(model, precision).replaced.length;
    model.eval();
    return { model, quantizedLayers };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Size, held-out perplexity, and a timed streamed generation of one variant. */
export async function measureVariant(
  precision: Precision,
  built: { model: GPT; quantizedLayers: number },
  tokenizer: TextTokenizer,
  heldOut: string,
  gen: Omit<StreamOptions, 'onText'> & { prompt: string; onText?: StreamOptions['onText'] },
): Promise<VariantResult> {
  const { model } = built;
  const size = sizeReport(model);
  // Scoring first also builds the quantized layers' dequantized-weight caches, so the timing
  // below measures steady-state generation.
  const { perplexity } = await textLoss(model, tokenizer, heldOut);
  const t0 = performance.now();
  const { ids, text } = await streamGenerate(model, tokenizer, gen.prompt, { ...gen, onText: gen.onText ?? (() => {}) });
  const secs = (performance.now() - t0) / 1000;
  return {
    precision,
    weightBytes: size.weightBytes,
    totalBytes: size.totalBytes,
    bitsPerParam: size.weightBitsPerParam,
    quantizedLayers: built.quantizedLayers,
    perplexity,
    tokensPerSecond: ids.length / Math.max(secs, 1e-6),
    text,
  };
}
