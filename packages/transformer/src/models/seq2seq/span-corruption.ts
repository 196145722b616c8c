import { InvalidArgumentError, Rng, describe, rngFor } from '@nutshell/core';

/** numpy's np.round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Splits numItems into numSegments non-empty runs at random (T5's `_random_segmentation`). */
function randomSegmentation(numItems: number, numSegments: number, rng: Rng): number[] {
  // A shuffled 0/1 vector marks which of the numItems−1 gaps start a new segment.
  const marks = Array.from({ length: numItems - 1 }, (_, i) => i < numSegments - 1);
  for (let i = marks.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [marks[i], marks[j]] = [marks[j]!, marks[i]!];
  }
  const lengths = [1];
  for (const m of marks) {
    if (m) lengths.push(1);
    else lengths[lengths.length - 1]!++;
  }
  return lengths;
}

export interface NoiseMaskOptions {
  /** Fraction of tokens to corrupt (T5: 0.15). */
  noiseDensity?: number;
  /** Mean length of a corrupted span (T5: 3). */
  meanNoiseSpanLength?: number;
  seed?: number | string | Rng;
}

/**
 * T5's `random_spans_noise_mask`: round(length·density) noise tokens (at least 1, at most
 * length−1) in max(1, round(noise/meanSpan)) spans, interleaved with as many non-noise spans;
 * the sequence starts with non-noise and ends with noise. Rounding is numpy's (half to even).
 */
export function randomSpansNoiseMask(length: number, options: NoiseMaskOptions = {}): boolean[] {
  const density = options.noiseDensity ?? 0.15;
  const meanSpan = options.meanNoiseSpanLength ?? 3;
  if (!Number.isInteger(length) || length < 2) throw new InvalidArgumentError(`randomSpansNoiseMask: length must be an integer ≥ 2, got ${describe(length)}`);
  if (!(density > 0 && density < 1)) throw new InvalidArgumentError(`randomSpansNoiseMask: noiseDensity must be in (0, 1), got ${describe(density)}`);
  if (!(meanSpan >= 1)) throw new InvalidArgumentError(`randomSpansNoiseMask: meanNoiseSpanLength must be ≥ 1, got ${describe(meanSpan)}`);
  const rng = rngFor(options.seed);
  const numNoise = Math.min(Math.max(roundHalfEven(length * density), 1), length - 1);
  const numSpans = Math.max(roundHalfEven(numNoise / meanSpan), 1);
  const noiseLengths = randomSegmentation(numNoise, numSpans, rng);
  const keepLengths = randomSegmentation(length - numNoise, numSpans, rng);
  const mask: boolean[] = [];
  for (let i = 0; i < numSpans; i++) {
    for (let j = 0; j < keepLengths[i]!; j++) mask.push(false);
    for (let j = 0; j < noiseLengths[i]!; j++) mask.push(true);
  }
  return mask;
}

export interface SpanCorruptionOptions extends NoiseMaskOptions {
  /** Id of the i-th sentinel; default vocabSize − 1 − i (T5's `<extra_id_i>`). */
  sentinel?: (i: number) => number;
  vocabSize?: number;
  /** Appended to inputs and targets (T5: 1); null for none. */
  eosTokenId?: number | null;
}

export interface SpanCorruptionExample {
  /** Non-noise tokens, each noise span replaced by its sentinel (then eos). */
  inputs: number[];
  /** Each noise span preceded by its sentinel (then eos). */
  targets: number[];
  /** The noise mask used (true = corrupted). */
  mask: boolean[];
  numSpans: number;
}

/**
 * T5's span-corruption objective on one token sequence (as HF's run_t5_mlm_flax builds it from
 * `random_spans_noise_mask`): inputs keep the non-noise tokens with one sentinel per noise span,
 * targets list the noise spans after the same sentinels, so sentinel i marks span i in both.
 */
export function spanCorruption(ids: readonly number[], options: SpanCorruptionOptions = {}): SpanCorruptionExample {
  if (!Array.isArray(ids) || ids.length < 2) throw new InvalidArgumentError(`spanCorruption: need at least 2 tokens, got ${describe(ids)}`);
  let sentinel = options.sentinel;
  if (!sentinel) {
    const V = options.vocabSize;
    if (!Number.isInteger(V)) throw new InvalidArgumentError('spanCorruption: give vocabSize (sentinels are vocabSize − 1 − i) or a sentinel function');
    sentinel = (i) => V! - 1 - i;
  }
  const eos = options.eosTokenId === undefined ? 1 : options.eosTokenId;
  const mask = randomSpansNoiseMask(ids.length, options);
  const inputs: number[] = [];
  const targets: number[] = [];
  let span = -1;
  ids.forEach((id, i) => {
    if (!mask[i]) {
      inputs.push(id);
      return;
    }
    if (i === 0 || !mask[i - 1]) {
      span++;
      const s = sentinel!(span);
      inputs.push(s);
      targets.push(s);
    }
    targets.push(id);
  });
  if (eos !== null) {
    inputs.push(eos);
    targets.push(eos);
  }
  return { inputs, targets, mask, numSpans: span + 1 };
}
