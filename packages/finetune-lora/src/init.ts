import { Rng, tf, type Tensor } from '@nutshell/core';
import { init } from '@nutshell/nn';
import type { LoraInit } from './config.js';

/**
 * PEFT's initialisation of lora_A [r, …] and lora_B [out, r, …]: `true` → A Kaiming-uniform(a=√5)
 * (PyTorch's Linear default), B zeros; 'gaussian' → A ~ N(0, 1/r), B zeros; `false` → both keep
 * the default Linear init, so the adapter is not an identity at start (useful for testing merges).
 */
export function initLoraPair(shapeA: number[], shapeB: number[], mode: LoraInit, r: number, seed: string): { A: Tensor; B: Tensor } {
  const rng = new Rng(seed);
  const A = mode === 'gaussian' ? init.normal(shapeA, 0, 1 / r, rng) : init.defaultWeight(shapeA, rng);
  const B = mode === false ? init.defaultWeight(shapeB, rng) : tf.zeros(shapeB);
  return { A, B };
}
