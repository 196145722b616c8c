import type { TextTokenizer } from '@nutshell/core';
import { quantizeModel, saveQuantizedModel, sizeReport, type LayerQuantSpec } from '@nutshell/quantize';
import type { GPT } from '@nutshell/transformer';
import { createProgress } from '../progress.js';
import { cloneGpt } from './gpt-surgery.js';
import { linePerplexity } from './text-eval.js';

export interface QuantVariant {
  scheme: 'fp32' | 'int8' | 'nf4';
  /** Model bytes by quantize's sizeReport (packed weights + float parameters). */
  bytes: number;
  /** Bits per weight of the quantized matrices. */
  weightBits: number;
  perplexity: number;
  /** The same per character. */
  charPerplexity: number;
  /** Relative change of perplexity against fp32. */
  perplexityChange: number;
  /** Size of the saved quantized safetensors file. */
  fileBytes: number;
  layers: number;
}

/**
 * Weight-only post-training quantization of every Conv1D projection (int8 per output row, NF4 in
 * blocks of 64 with double-quantized scales as QLoRA); embeddings and LayerNorms stay float32.
 * Returns size and held-out perplexity per variant and the safetensors bytes of each.
 */
export async function quantizeGpt(
  model: GPT,
  tokenizer: TextTokenizer,
  evalLines: readonly string[],
): Promise<{ variants: QuantVariant[]; files: Record<'int8' | 'nf4', Uint8Array> }> {
  const progress = createProgress({ label: 'quantize', total: 3 });
  const fp = await linePerplexity(model, tokenizer, evalLines);
  const fpBytes = sizeReport(model).totalBytes;
  const variants: QuantVariant[] = [{ scheme: 'fp32', bytes: fpBytes, weightBits: 32, perplexity: fp.perplexity, charPerplexity: fp.charPerplexity, perplexityChange: 0, fileBytes: 0, layers: 0 }];
  progress.update(1, { scheme: 'fp32' });
  const files = {} as Record<'int8' | 'nf4', Uint8Array>;
  const schemes: [LayerQuantSpec, 'int8' | 'nf4'][] = [[{ scheme: 'int8' }, 'int8'], [{ scheme: 'nf4', groupSize: 64, doubleQuant: true }, 'nf4']];
  for (const [spec, name] of schemes) {
    const q = cloneGpt(model);
    // quantizeModel takes the Conv1D projections as linear layers (fanInFanOut); the default recipe
    // leaves embeddings (and the tied head, which is no Linear) in float32.
    const { replaced } = quantizeModel(q, { default: spec });
    q.eval();
    const rep = sizeReport(q);
    const ppl = await linePerplexity(q, tokenizer, evalLines);
    files[name] = saveQuantizedModel(q, { 'nutshell.demo': 'gpt-wordnet', scheme: name });
    variants.push({
      scheme: name,
      bytes: rep.totalBytes,
      weightBits: rep.weightBitsPerParam,
      perplexity: ppl.perplexity,
      charPerplexity: ppl.charPerplexity,
      perplexityChange: ppl.perplexity / fp.perplexity - 1,
      fileBytes: files[name].length,
      layers: replaced.length,
    });
    q.dispose();
    progress.update(variants.length, { scheme: name, ppl: ppl.perplexity });
  }
  progress.done();
  return { variants, files };
}
