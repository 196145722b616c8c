import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';

interface KV {
  k: Tensor;
  v: Tensor;
}

/**
 * The T5 decoder's KV cache: per decoder block, the self-attention keys/values of the tokens
 * decoded so far (growing) and the cross-attention keys/values projected once from the encoder
 * output. Owns its tensors: call `dispose()`.
 */
export class Seq2seqCache {
  readonly self: (KV | null)[];
  readonly cross: (KV | null)[];
  constructor(readonly numLayers: number) {
    this.self = new Array(numLayers).fill(null);
    this.cross = new Array(numLayers).fill(null);
  }
  /** Decoder tokens cached so far. */
  get length(): number {
    return this.self[0]?.k.shape[2] ?? 0;
  }
  get batchSize(): number | undefined {
    return this.self[0]?.k.shape[0] ?? this.cross[0]?.k.shape[0];
  }
  private static replace(list: (KV | null)[], l: number, kv: KV): void {
    const old = list[l];
    if (old && old.k !== kv.k) old.k.dispose();
    if (old && old.v !== kv.v) old.v.dispose();
    tf.keep(kv.k);
    tf.keep(kv.v);
    list[l] = kv;
  }
  /** Stores layer l's tensors (taking ownership, disposing those they replace). */
  setSelf(l: number, k: Tensor, v: Tensor): void {
    Seq2seqCache.replace(this.self, l, { k, v });
  }
  setCross(l: number, k: Tensor, v: Tensor): void {
    Seq2seqCache.replace(this.cross, l, { k, v });
  }
  /** Keeps only the given batch rows, in that order (beam search). */
  reorder(rows: readonly number[]): void {
    const B = this.batchSize;
    if (B === undefined) return;
    if (rows.some((r) => !Number.isInteger(r) || r < 0 || r >= B)) throw new InvalidArgumentError(`Seq2seqCache.reorder: rows must be in [0, ${B})`);
    const idx = tf.tensor1d(rows as number[], 'int32');
    for (const list of [this.self, this.cross]) {
      list.forEach((kv, l) => {
        if (kv) Seq2seqCache.replace(list, l, { k: tf.gather(kv.k, idx), v: tf.gather(kv.v, idx) });
      });
    }
    idx.dispose();
  }
  /** Bytes held (float32). */
  get bytes(): number {
    return [...this.self, ...this.cross].reduce((n, kv) => n + (kv ? (kv.k.size + kv.v.size) * 4 : 0), 0);
  }
  dispose(): void {
    for (const list of [this.self, this.cross]) {
      list.forEach((kv, l) => {
        kv?.k.dispose();
        kv?.v.dispose();
        list[l] = null;
      });
    }
  }
}
