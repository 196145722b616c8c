import { InvalidArgumentError, Rng, describe } from '@nutshell/core';

export interface MaskTokensOptions {
  /** Random replacements are drawn uniformly from [0, vocabSize) (as HF's data collator). */
  vocabSize: number;
  maskTokenId: number;
  /** Ids never selected for prediction: [CLS], [SEP], [PAD], … */
  specialIds: Iterable<number>;
  /** Share of (non-special) tokens selected for prediction. Default 0.15. */
  mlmProbability?: number;
  /** Of the selected: share replaced by [MASK] (default 0.8) and by a random token (default 0.1); the rest stay unchanged. */
  maskReplaceProbability?: number;
  randomReplaceProbability?: number;
  /** A seed or an Rng (advanced by the call). */
  seed?: number | string | Rng;
}

export interface MaskedBatch {
  /** The corrupted input ids. */
  inputIds: number[][];
  /** The original id at selected positions, −100 elsewhere (HF's ignore index). */
  labels: number[][];
}

/**
 * BERT's masked-LM corruption (Devlin et al. 2019, §3.1; HF DataCollatorForLanguageModeling): each
 * non-special token is selected with probability 15%; a selected token becomes [MASK] with
 * probability 80%, a random token with 10%, and stays itself with 10%. Labels hold the original id
 * at selected positions and −100 elsewhere, so the loss covers exactly the selected tokens.
 * Deterministic for a given seed.
 */
export function maskTokens(sequences: readonly (readonly number[])[], options: MaskTokensOptions): MaskedBatch {
  const where = 'maskTokens';
  const p = options.mlmProbability ?? 0.15;
  const pMask = options.maskReplaceProbability ?? 0.8;
  const pRandom = options.randomReplaceProbability ?? 0.1;
  for (const [name, v] of [['mlmProbability', p], ['maskReplaceProbability', pMask], ['randomReplaceProbability', pRandom]] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new InvalidArgumentError(`${where}: ${name} must be in [0, 1], got ${describe(v)}`);
  }
  if (pMask + pRandom > 1 + 1e-12) throw new InvalidArgumentError(`${where}: maskReplaceProbability + randomReplaceProbability must be ≤ 1, got ${pMask + pRandom}`);
  const V = options.vocabSize;
  if (!Number.isInteger(V) || V < 1) throw new InvalidArgumentError(`${where}: vocabSize must be a positive integer, got ${describe(V)}`);
  if (!Number.isInteger(options.maskTokenId) || options.maskTokenId < 0 || options.maskTokenId >= V) {
    throw new InvalidArgumentError(`${where}: maskTokenId must be an id in [0, ${V}), got ${describe(options.maskTokenId)}`);
  }
  if (!Array.isArray(sequences)) throw new InvalidArgumentError(`${where}: expected an array of id sequences, got ${describe(sequences)}`);
  const special = new Set(options.specialIds);
  const s = options.seed;
  const rng = s instanceof Rng ? s : new Rng(s ?? 0);
  const inputIds: number[][] = [];
  const labels: number[][] = [];
  for (const seq of sequences) {
    if (!Array.isArray(seq)) throw new InvalidArgumentError(`${where}: each sequence must be an array of ids, got ${describe(seq)}`);
    const ids = [...seq];
    const lab = ids.map(() => -100);
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new InvalidArgumentError(`${where}: id ${describe(id)} is outside the vocabulary [0, ${V})`);
      if (special.has(id) || rng.uniform() >= p) return;
      lab[i] = id;
      const u = rng.uniform();
      if (u < pMask) ids[i] = options.maskTokenId;
      else if (u < pMask + pRandom) ids[i] = rng.int(V);
    });
    inputIds.push(ids);
    labels.push(lab);
  }
  return { inputIds, labels };
}
