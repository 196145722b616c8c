import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';

/** Smallest preallocated capacity (positions) of a buffered cache. */
const MIN_CAPACITY = 64;

/**
 * Keys and values of every layer for the tokens seen so far, so generation feeds one new token per
 * step instead of the whole prefix. Owns its tensors: call `dispose()`.
 *
 * Two storages, chosen by the model per call:
 * - `'tensors'` (every backend): `keys[l]` / `values[l]` are [B, H, length, d]; each step concatenates
 *   the new positions (a copy of the whole cache per layer and step).
 * - `'buffers'` (backends with the fused `NutshellCachedAttention` kernel, e.g. native):
 *   `keys[l]` / `values[l]` are preallocated [B, H, capacity, d] buffers of which the first `length`
 *   positions are valid; the kernel writes new positions in place, and capacity doubles when full
 *   (amortised: the cache is copied O(log length) times, not every step).
 * Switching storage converts the cached positions, so a cache survives a backend change.
 */
export class KVCache {
  keys: (Tensor | null)[];
  values: (Tensor | null)[];
  private buffered = false;
  private filled = 0;
  constructor(readonly nLayer: number) {
    this.keys = new Array(nLayer).fill(null);
    this.values = new Array(nLayer).fill(null);
  }
  get storage(): 'tensors' | 'buffers' {
    return this.buffered ? 'buffers' : 'tensors';
  }
  /** Tokens cached so far. */
  get length(): number {
    return this.buffered ? this.filled : (this.keys[0]?.shape[2] ?? 0);
  }
  /** Positions the buffers hold before they grow (equals `length` for tensor storage). */
  get capacity(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }
  get batchSize(): number | undefined {
    return this.keys[0]?.shape[0];
  }
  /** Replaces layer l's tensors ([B, H, S, d], taking ownership, disposing the old ones); tensor storage. */
  set(l: number, k: Tensor, v: Tensor): void {
    if (this.buffered) this.toTensors();
    this.keys[l]?.dispose();
    this.values[l]?.dispose();
    this.keys[l] = k;
    this.values[l] = v;
  }

  /**
   * Buffer storage with room for `needed` positions in every layer ([B, H, capacity, d] each),
   * converting or growing as needed; new capacity doubles up to `limit` (when it suffices).
   */
  reserve(needed: number, shape: { batch: number; heads: number; headDim: number }, limit = Infinity): void {
    const { batch, heads, headDim } = shape;
    // Empty buffers of another shape (a failed first call) are simply replaced.
    if (this.length === 0 && this.keys[0] && (this.batchSize !== batch || this.keys[0].shape[1] !== heads || this.keys[0].shape[3] !== headDim)) this.clear();
    if (this.buffered && this.capacity >= needed && this.keys[0] !== null) return;
    const old = this.buffered ? this.filled : this.length;
    let capacity = Math.max(needed, MIN_CAPACITY, 2 * this.capacity);
    if (limit >= needed) capacity = Math.min(capacity, limit);
    // keep(): the buffers outlive any tidy scope this is called from.
    const grow = (t: Tensor | null): Tensor =>
      tf.keep(
        tf.tidy(() => {
          const extra = tf.zeros([batch, heads, capacity - (t ? t.shape[2]! : 0), headDim]);
          return t ? tf.concat([t, extra], 2) : extra;
        }),
      );
    for (let l = 0; l < this.nLayer; l++) {
      for (const list of [this.keys, this.values]) {
        // Tensor storage holds exactly `old` positions, buffers hold `capacity`: either way the prefix is kept.
        const next = grow(list[l] ?? null);
        list[l]?.dispose();
        list[l] = next;
      }
    }
    this.buffered = true;
    this.filled = old;
  }

  /** Buffer storage: marks `n` more positions as written (after every layer wrote them). */
  advance(n: number): void {
    if (!this.buffered) throw new InvalidArgumentError('KVCache.advance: the cache does not use buffer storage');
    if (this.filled + n > this.capacity) throw new InvalidArgumentError(`KVCache.advance: ${this.filled + n} positions exceed the capacity ${this.capacity}`);
    this.filled += n;
  }

  /** Converts buffer storage to tensor storage ([B, H, length, d]); no-op otherwise. */
  toTensors(): void {
    if (!this.buffered) return;
    const n = this.filled;
    for (let l = 0; l < this.nLayer; l++) {
      for (const list of [this.keys, this.values]) {
        const t = list[l];
        if (!t) continue;
        list[l] = n > 0 ? tf.keep(tf.slice(t, [0, 0, 0, 0], [-1, -1, n, -1])) : null;
        t.dispose();
      }
    }
    this.buffered = false;
    this.filled = 0;
  }

  /** Keeps only the given batch rows, in that order (beam search reorders beams this way). */
  reorder(rows: readonly number[]): void {
    for (let l = 0; l < this.nLayer; l++) {
      const k = this.keys[l];
      const v = this.values[l];
      if (!k || !v) continue;
      if (rows.some((r) => !Number.isInteger(r) || r < 0 || r >= k.shape[0]!)) throw new InvalidArgumentError(`KVCache.reorder: rows must be in [0, ${k.shape[0]})`);
      const idx = tf.tensor1d(rows as number[], 'int32');
      // gather makes fresh tensors, so buffers stay exclusively owned (the kernel writes them in place).
      const nk = tf.keep(tf.gather(k, idx));
      const nv = tf.keep(tf.gather(v, idx));
      idx.dispose();
      k.dispose();
      v.dispose();
      this.keys[l] = nk;
      this.values[l] = nv;
    }
  }
  /** Bytes held (float32; buffer storage counts its whole capacity). */
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
    this.buffered = false;
    this.filled = 0;
  }
  dispose(): void {
    this.clear();
  }
}
