import type { TextTokenizer } from '@nutshell/core';
import { QuantizedLinear, replaceModule, saveQuantizedModel, sizeReport, type WeightQuantConfig } from '@nutshell/quantize';
import type { Conv1D, GPT } from '@nutshell/transformer';
import { createProgress } from '../progress.js';
import { cloneGpt, conv1dPaths, conv1dWeightOutIn } from './gpt-surgery.js';
import { linePerplexity } from './text-eval.js';

export interface QuantVariant {
  scheme: 'fp32' | 'int8' | 'nf4';
  /** Model bytes by quantize's sizeReport (packed weights + float parameters). */
  bytes: number;
  /** Bits per weight of the quantized matrices. */
  weightBits: number;
  perplexity: number;
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
  const variants: QuantVariant[] = [{ scheme: 'fp32', bytes: fpBytes, weightBits: 32, perplexity: fp.perplexity, perplexityChange: 0, fileBytes: 0, layers: 0 }];
  progress.update(1, { scheme: 'fp32' });
  const files = {} as Record<'int8' | 'nf4', Uint8Array>;
  const schemes: [WeightQuantConfig, 'int8' | 'nf4'][] = [[{ scheme: 'int8' }, 'int8'], [{ scheme: 'nf4', groupSize: 64, doubleQuant: true }, 'nf4']];
  for (const [config, name] of schemes) {
    const q = cloneGpt(model);
    const paths = conv1dPaths(q);
    for (const path of paths) {
      const conv = q.getModule(path) as Conv1D;
      const w = conv1dWeightOutIn(conv);
      const layer = QuantizedLinear.fromWeight(w, conv.bias, config);
      w.dispose();
      replaceModule(q, path, layer);
      conv.dispose();
    }
    q.eval();
    const rep = sizeReport(q);
    const ppl = await linePerplexity(q, tokenizer, evalLines);
    files[name] = saveQuantizedModel(q, { 'nutshell.demo': 'gpt-wordnet-char', scheme: name });
    variants.push({
      scheme: name,
      bytes: rep.totalBytes,
      weightBits: rep.weightBitsPerParam,
      perplexity: ppl.perplexity,
      perplexityChange: ppl.perplexity / fp.perplexity - 1,
      fileBytes: files[name].length,
      layers: paths.length,
    });
    q.dispose();
    progress.update(variants.length, { scheme: name, ppl: ppl.perplexity });
  }
  progress.done();
  return { variants, files };
}
