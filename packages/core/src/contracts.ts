import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';

/**
 * Small contracts that let packages work together without importing each other: a language
 * model's `generate` accepts logits processors (the ethics-audit watermark is one), a language
 * model implements TokenScorer (perplexity, membership inference), and metrics return MetricResult.
 */

/**
 * Rewrites next-token logits before sampling, like Hugging Face's LogitsProcessor.
 * `inputIds[b]` holds every token of sequence b so far (prompt and generated); `logits` is
 * [batch, vocab]. Returns new logits of the same shape; the caller disposes the input logits.
 */
export interface LogitsProcessor {
  readonly name: string;
  process(inputIds: readonly (readonly number[])[], logits: Tensor2D): Tensor2D;
}

/** A model that can score token sequences: log-probabilities of each token given its prefix. */
export interface TokenScorer {
  readonly vocabSize: number;
  /**
   * For each sequence, the natural-log probability of tokens 1..n-1 given the tokens before them
   * (length n-1; the first token has no prefix to be scored from).
   */
  scoreTokens(sequences: readonly (readonly number[])[]): Promise<Float32Array[]>;
}

/** A text tokenizer, as far as other packages need one. */
export interface TextTokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** A plain, JSON-ready metric value. */
export interface MetricResult {
  /** Metric name, e.g. "fid", "bleu", "demographic_parity_difference". */
  name: string;
  value: number;
  /** Whether larger values are better (FID: false, BLEU: true). */
  higherIsBetter?: boolean;
  /** Confidence interval, e.g. from bootstrap. */
  interval?: { low: number; high: number; level: number };
  /** How it was computed (signature string, settings), for reports. */
  signature?: string;
  details?: Record<string, unknown>;
}

/** Anything that holds tensors it owns. */
export interface Disposable {
  dispose(): void;
}

/** Helper type: a tensor or a nested record of tensors (state dicts, batches). */
export type TensorTree = Tensor | TensorTree[] | { [key: string]: TensorTree };

/**
 * A layer whose forward is exactly x·W (+ b) with a float weight it can lend right now, such as a
 * quantized layer holding its dequantized weight. Fused kernels (the GPT decode step) use the lent
 * weight instead of calling `forward`. `transposed`: W is stored [out, in] and applied as x·Wᵀ.
 * Returns undefined when the layer cannot lend one (e.g. activation quantization, training mode).
 * The lent tensors stay owned by the layer: do not dispose them.
 */
export interface DenseWeightSource {
  denseWeight(): { weight: Tensor; bias: Tensor | null; transposed: boolean } | undefined;
}
