import type { TextTokenizer } from '@nutshell/core';
import type { AdamW } from '@nutshell/nn';
import type { GPT } from '@nutshell/transformer';
import type { AdapterSet } from './adapters.js';

/** The text page's model, shared by its panels (training, generation, LoRA, quantization). */
export interface TextState {
  model: GPT;
  tokenizer: TextTokenizer;
  optimizer?: AdamW;
  /** The corpus as ids, when the model trains here. */
  tokens?: Int32Array;
  losses: number[];
  step: number;
  key: string;
  /** LoRA adapters on this model (created with the first adapter). */
  adapters?: AdapterSet;
}

let state: TextState | undefined;
let busy = false;
const dropListeners: (() => void)[] = [];

export function textState(): TextState | undefined {
  return state;
}

/** The current model, or a clear error when there is none yet. */
export function requireTextState(): TextState {
  if (!state) throw new Error('no model yet: train one (Train) or load a checkpoint first');
  return state;
}

export function setTextState(s: TextState): void {
  dropTextState();
  state = s;
}

/** Panels clear what they show about the old model. */
export function onTextStateDrop(fn: () => void): void {
  dropListeners.push(fn);
}

export function dropTextState(): void {
  if (!state) return;
  state.adapters?.dispose();
  state.optimizer?.dispose();
  state.model.dispose();
  state = undefined;
  for (const fn of dropListeners) fn();
}

/**
 * Runs one model job at a time (training, generating, quantizing share the model's tensors):
 * a click while another job runs is ignored, returning undefined.
 */
export async function exclusive<T>(fn: () => Promise<T>): Promise<T | undefined> {
  if (busy) return undefined;
  busy = true;
  try {
    return await fn();
  } finally {
    busy = false;
  }
}
