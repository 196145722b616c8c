import { InvalidArgumentError, describe, tf, type Tensor } from '@nutshell/core';
import type { PackedWeight } from './packed-weight.js';

/**
 * Whether a quantized layer keeps its dequantized float32 weight between forwards:
 * - `auto` (default): kept while the layer runs in eval mode (generation, evaluation, where the same
 *   weight is used for every token); a forward in training mode frees it, so QLoRA-style training
 *   holds only the packed weight;
 * - `on`: always kept once built; `off`: never (dequantize on the fly in every forward, least memory).
 * The packed weight stays the stored form either way; the cache costs 4 bytes per parameter while it
 * lives (reported by `sizeReport` as `cacheBytes`).
 */
export type WeightCacheMode = 'auto' | 'on' | 'off';
export const WEIGHT_CACHE_MODES: readonly WeightCacheMode[] = ['auto', 'on', 'off'];

export function checkWeightCacheMode(mode: unknown): WeightCacheMode {
  if (!WEIGHT_CACHE_MODES.includes(mode as WeightCacheMode)) throw new InvalidArgumentError(`weight cache mode must be one of ${WEIGHT_CACHE_MODES.join(', ')}, got ${describe(mode)}`);
  return mode as WeightCacheMode;
}

/** Whether a layer in `mode` should use (and keep) a cache for a forward in this training state. */
export function cacheWanted(mode: WeightCacheMode, training: boolean): boolean {
  return mode === 'on' || (mode === 'auto' && !training);
}

/**
 * One dequantized copy of a packed weight. It is valid for the PackedWeight object and version it was
 * built from, so replacing the packed weight or calling its `markModified()` rebuilds it.
 */
export class DequantCache {
  private t: Tensor | null = null;
  private source: PackedWeight | null = null;
  private version = -1;

  /** The cached tensor for `w` (built with `build` when missing or stale). Do not dispose it. */
  get(w: PackedWeight, build: () => Tensor): Tensor {
    if (this.t && !this.t.isDisposed && this.source === w && this.version === w.version) return this.t;
    this.release();
    // Kept so that the tidy scope of the forward that builds it does not dispose it.
    this.t = tf.keep(build());
    this.source = w;
    this.version = w.version;
    return this.t;
  }

  /** Bytes held by the cache now (0 when empty). */
  get bytes(): number {
    return this.t && !this.t.isDisposed ? 4 * this.t.size : 0;
  }

  release(): void {
    if (this.t && !this.t.isDisposed) this.t.dispose();
    this.t = null;
    this.source = null;
    this.version = -1;
  }
}
