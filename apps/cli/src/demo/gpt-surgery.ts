import { GPT } from '@nutshell/transformer';

/** Helpers between transformer's GPT and the stages that rewrite module trees (LoRA, quantization). */

/** An independent copy of a GPT (same config, weights copied). */
export function cloneGpt(model: GPT): GPT {
  const copy = new GPT(model.config, { seed: 0 });
  copy.loadStateDict(model.stateDict());
  copy.eval();
  return copy;
}
