import { $, numberInput } from './dom.js';

/** The text page's generation settings (prompt, length, temperature, top-k), shared by its panels. */
export function generationSettings(): { prompt: string; maxNewTokens: number; temperature: number; topK: number } {
  return {
    prompt: $<HTMLInputElement>('gen-prompt').value,
    maxNewTokens: numberInput('gen-tokens', 60),
    temperature: numberInput('gen-temp', 0.8),
    topK: numberInput('gen-topk', 10),
  };
}
