import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';

/**
 * Keys and values of every layer for the tokens seen so far ([B, H, S, d] each), so generation
 * feeds one new token per step instead of the whole prefix. Owns its tensors: call `dispose()`.
 */
export class KVCache {
  keys: (Tensor | null)[];
  values: (Tensor | null)[];
  constructor(readonly nLayer: number) {
    this.keys = new Array(nLayer).fill(null);
    this.values = new Array(nLayer).fill(null);
  }
  /** Tokens cached so far. */
  get length(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }
  get batchSize(): number | undefined {
    return this.keys[0]?.shape[0];
  }
  /** Replaces layer l's tensors (taking ownership, disposing the old ones). */
  set(l: number, k: Tensor, v: Tensor): void {
    this.keys[l]?.dispose();
    this.values[l]?.dispose();
    this.keys[l] = k;
    this.values[l] = v;
  }
  /** Keeps only the given batch rows, in that order (beam search reorders beams this way). */
  reorder(rows: readonly number[]): void {
    for (let l = 0; l < this.nLayer; l++) {
      const k = this.keys[l];
      const v = this.values[l];
      if (!k || !v) continue;
      if (rows.some((r) => !Number.isInteger(r) || r < 0 || r >= k.shape[0]!)) throw new InvalidArgumentError(`KVCache.reorder: rows must be in [0, ${k.shape[0]})`);
      const idx = tf.tensor1d(rows as number[], 'int32');
      this.set(l, tf.gather(k, idx), tf.gather(v, idx));
      idx.dispose();
    }
  }
  /** Bytes held (float32). */
  get bytes(): number {
    return [...this.keys, ...this.values].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }
  clear(): void {
    for (let l = 0; l < this.nLayer; l++) {
      this.keys[l]?.dispose();
      this.values[l]?.dispose();
      this.keys[l] = null;
      this.values[l] = null;
    }
  }
  dispose(): void {
    this.clear();
  }
}
