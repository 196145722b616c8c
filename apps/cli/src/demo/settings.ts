import type { GlossTokenizerSpec } from './gloss-tokenizer.js';

/**
 * Stage sizes of `nutshell demo`: the full run (about 5 minutes on two idle CPU cores, wall-clock
 * budgets per training stage) and `--quick` (tiny fixed step counts, no time budgets, for tests).
 */
export interface DemoSettings {
  quick: boolean;
  /** Measured repetitions per workload when the demo times its backends at start-up. */
  probeSteps: number;
  data: { maxTrainLines?: number; heldOutWords: number; heldOutLines: number; domainEvalLines: number; tokenizer: GlossTokenizerSpec };
  gpt: { maxSteps: number; seconds: number; nLayer: number; nEmbd: number; nPositions: number; batchSize: number; lr: number };
  generate: { maxNewTokens: number };
  lora: { maxSteps: number; seconds: number; batchSize: number; r: number; lr: number };
  image: { maxSteps: number; seconds: number; batchSize: number; latentDim: number; hidden: number };
  watermark: { maxNewTokens: number };
}

export function demoSettings(o: { quick: boolean; gptSeconds: number; loraSeconds: number; imageSeconds: number }): DemoSettings {
  if (o.quick) {
    return {
      quick: true,
      probeSteps: 2,
      data: { maxTrainLines: 3000, heldOutWords: 3, heldOutLines: 8, domainEvalLines: 4, tokenizer: { bpeVocab: 400 } },
      gpt: { maxSteps: 6, seconds: Infinity, nLayer: 1, nEmbd: 32, nPositions: 32, batchSize: 4, lr: 3e-3 },
      generate: { maxNewTokens: 12 },
      lora: { maxSteps: 3, seconds: Infinity, batchSize: 2, r: 2, lr: 3e-3 },
      image: { maxSteps: 10, seconds: Infinity, batchSize: 16, latentDim: 16, hidden: 32 },
      watermark: { maxNewTokens: 24 },
    };
  }
  return {
    quick: false,
    probeSteps: 3,
    data: { maxTrainLines: 40000, heldOutWords: 8, heldOutLines: 64, domainEvalLines: 32, tokenizer: { bpeVocab: 2000 } },
    gpt: { maxSteps: 3000, seconds: o.gptSeconds, nLayer: 2, nEmbd: 64, nPositions: 64, batchSize: 8, lr: 6e-3 },
    generate: { maxNewTokens: 48 },
    lora: { maxSteps: 600, seconds: o.loraSeconds, batchSize: 12, r: 8, lr: 3e-3 },
    image: { maxSteps: 5000, seconds: o.imageSeconds, batchSize: 32, latentDim: 64, hidden: 128 },
    watermark: { maxNewTokens: 80 },
  };
}
