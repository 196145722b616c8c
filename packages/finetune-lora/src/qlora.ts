import { InvalidArgumentError, type Tensor } from '@nutshell/core';
import { Module } from '@nutshell/nn';
import type { LoraConfigInput } from './config.js';
import { LoraModel, type LoraModelOptions } from './lora-model.js';
import { isLinearLike } from './lora-linear.js';
import { toNf4Linear, type NF4Options } from './nf4-linear.js';
import { matchesPattern, outputHeadPath, walkModules } from './targets.js';
import { isQuantizedLinear } from './quantized-base.js';

export interface QuantizeBaseOptions extends NF4Options {
  /** Modules left in fp32 (PEFT/bitsandbytes' llm_int8_skip_modules); default: the output head. */
  skipModules?: string[];
}

/**
 * Replaces the model's linear layers (Linear, GPT-2 Conv1D) by frozen Nf4Linear layers (@nutshell/quantize) with double
 * quantization, in place, as QLoRA loads its base. Returns the quantized paths.
 */
export function quantizeBase(model: Module, options: QuantizeBaseOptions = {}): string[] {
  const linear = walkModules(model).filter(([, m]) => isLinearLike(m) && !isQuantizedLinear(m));
  const head = outputHeadPath(model, linear);
  const skip = options.skipModules;
  const chosen = linear.filter(([p]) => (skip ? !matchesPattern(skip, p) : p !== head));
  if (!chosen.length) throw new InvalidArgumentError('quantizeBase: no linear layers to quantize');
  for (const [path, m] of chosen) {
    const q = toNf4Linear(m as Module & { weight: Tensor }, options);
    model.setModule(path, q).dispose();
  }
  return chosen.map(([p]) => p);
}

/** QLoRA in one call: NF4 + double-quantized frozen base, then LoRA adapters in fp32. */
export function prepareQLoRA<M extends Module>(model: M, config: LoraConfigInput, options: LoraModelOptions & QuantizeBaseOptions = {}): LoraModel<M> {
  quantizeBase(model, options);
  return new LoraModel(model, config, options);
}
