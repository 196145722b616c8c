import { InvalidArgumentError, Rng, ShapeError, describe, tf, type LogitsProcessor, type Tensor2D } from '@nutshell/core';

export interface WatermarkConfig {
  /** Secret key; detection needs the same key. */
  key: string;
  vocabSize: number;
  /** Fraction of the vocabulary on the green list (paper: 0.25). */
  gamma?: number;
  /** Logit bias added to green tokens (paper: 2). */
  delta?: number;
}

export const DEFAULT_GAMMA = 0.25;
export const DEFAULT_DELTA = 2;

export function checkWatermarkConfig(name: string, c: WatermarkConfig): Required<WatermarkConfig> {
  if (!c || typeof c !== 'object') throw new InvalidArgumentError(`${name}: expected options { key, vocabSize }, got ${describe(c)}`);
  if (typeof c.key !== 'string' || c.key.length === 0) throw new InvalidArgumentError(`${name}: key must be a non-empty string, got ${describe(c.key)}`);
  if (!Number.isInteger(c.vocabSize) || c.vocabSize < 2) throw new InvalidArgumentError(`${name}: vocabSize must be an integer >= 2, got ${describe(c.vocabSize)}`);
  const gamma = c.gamma ?? DEFAULT_GAMMA;
  const delta = c.delta ?? DEFAULT_DELTA;
  if (!(gamma > 0 && gamma < 1)) throw new InvalidArgumentError(`${name}: gamma must be in (0, 1), got ${describe(gamma)}`);
  if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new InvalidArgumentError(`${name}: delta must be a finite number, got ${describe(delta)}`);
  return { key: c.key, vocabSize: c.vocabSize, gamma, delta };
}

/**
 * Green lists of Kirchenbauer et al. 2023 (h = 1): the previous token and the key seed a generator
 * that picks ⌊γ·|V|⌋ tokens (a partial Fisher–Yates shuffle). Recently used lists are cached.
 */
export class GreenLists {
  readonly size: number;
  private readonly cache = new Map<number, Uint8Array>();
  constructor(readonly key: string, readonly vocabSize: number, readonly gamma: number, private readonly cacheLimit = 256) {
    this.size = Math.floor(gamma * vocabSize);
  }

  /** Membership mask over the vocabulary (1 = green) for the list seeded by `prevToken`. */
  mask(prevToken: number): Uint8Array {
    const hit = this.cache.get(prevToken);
    if (hit) {
      // Refresh recency.
      this.cache.delete(prevToken);
      this.cache.set(prevToken, hit);
      return hit;
    }
    const rng = new Rng(`kgw-green/${this.key}/${prevToken}`);
    const perm = new Int32Array(this.vocabSize);
    for (let i = 0; i < perm.length; i++) perm[i] = i;
    const mask = new Uint8Array(this.vocabSize);
    for (let i = 0; i < this.size; i++) {
      const j = i + rng.int(this.vocabSize - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
      mask[perm[i]!] = 1;
    }
    this.cache.set(prevToken, mask);
    if (this.cache.size > this.cacheLimit) this.cache.delete(this.cache.keys().next().value!);
    return mask;
  }

  isGreen(prevToken: number, token: number): boolean {
    return this.mask(prevToken)[token] === 1;
  }
}

/**
 * The green-list watermark as a core LogitsProcessor: adds δ to the logits of the green list
 * seeded by each sequence's last token. Rows with no tokens yet are left as they are.
 */
export class GreenListWatermark implements LogitsProcessor {
  readonly name = 'kgw-green-list';
  readonly config: Required<WatermarkConfig>;
  readonly lists: GreenLists;

  constructor(config: WatermarkConfig) {
    this.config = checkWatermarkConfig('GreenListWatermark', config);
    this.lists = new GreenLists(this.config.key, this.config.vocabSize, this.config.gamma);
  }

  process(inputIds: readonly (readonly number[])[], logits: Tensor2D): Tensor2D {
    const V = this.config.vocabSize;
    if (logits.rank !== 2 || logits.shape[1] !== V) throw new ShapeError(`GreenListWatermark: expected logits of shape [batch, ${V}], got [${logits.shape.join(', ')}]`);
    const B = logits.shape[0];
    if (!Array.isArray(inputIds) || inputIds.length !== B) throw new ShapeError(`GreenListWatermark: ${B} rows of logits but ${describe(inputIds)} input id rows`);
    const bias = new Float32Array(B * V);
    for (let b = 0; b < B; b++) {
      const ids = inputIds[b]!;
      if (ids.length === 0) continue;
      const mask = this.lists.mask(ids[ids.length - 1]!);
      for (let v = 0; v < V; v++) if (mask[v]) bias[b * V + v] = this.config.delta;
    }
    return tf.tidy(() => tf.add(logits, tf.tensor2d(bias, [B, V])));
  }
}
