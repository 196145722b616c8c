import { tf, Rng, type TextTokenizer } from '@nutshell/core';
import { softmaxRow, temperatureRow, topKRow, type GPT } from '@nutshell/transformer';

export interface StreamOptions {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  seed?: number;
  /** Called with each new piece of text; return false to stop. */
  onText: (piece: string, index: number) => boolean | void;
}

/**
 * Token-by-token sampling with the KV cache that yields to the browser after every token, so the
 * text appears as it is made (transformer's `generate` runs its loop without yielding; its
 * `onToken` fires for every token but the page only repaints at the end). Reads logits with the
 * asynchronous `data()`, which webgpu needs to stay responsive.
 */
export async function streamGenerate(model: GPT, tokenizer: TextTokenizer, prompt: string, o: StreamOptions): Promise<{ ids: number[]; text: string }> {
  const seq = tokenizer.encode(prompt);
  if (seq.length === 0) throw new Error('the prompt is empty after tokenization');
  const N = model.config.nPositions;
  const rng = new Rng(o.seed ?? 0);
  const newIds: number[] = [];
  let emitted = '';
  model.eval();
  let cache = model.createCache();
  let fed = 0;
  try {
    while (newIds.length < o.maxNewTokens) {
      // Past the context, restart the cache on the last N tokens (the window slides).
      if (cache.length + seq.length - fed > N) {
        cache.dispose();
        cache = model.createCache();
        fed = seq.length - N;
      }
      const feed = seq.slice(fed);
      // Not inside tf.tidy: the cache keeps the keys and values this call makes.
      const out3 = model.forward([feed], { cache, lastOnly: true });
      const logits = tf.reshape(out3, [-1]);
      out3.dispose();
      fed = seq.length;
      const row = Float32Array.from(await logits.data());
      logits.dispose();
      let id: number;
      if (o.temperature === 0) id = row.indexOf(Math.max(...row));
      else {
        temperatureRow(row, o.temperature);
        if (o.topK > 0) topKRow(row, o.topK);
        const probs = softmaxRow(row);
        const u = rng.uniform();
        let c = 0;
        id = probs.length - 1;
        for (let i = 0; i < probs.length; i++) if ((c += probs[i]!) > u) { id = i; break; }
      }
      seq.push(id);
      newIds.push(id);
      const text = tokenizer.decode(newIds);
      const piece = text.endsWith('\uFFFD') ? '' : text.slice(emitted.length);
      if (piece) emitted = text;
      if (o.onText(piece, newIds.length - 1) === false) break;
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    cache.dispose();
  }
  return { ids: newIds, text: tokenizer.decode(newIds) };
}
