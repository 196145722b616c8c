/** Element-wise closeness: |got − want| ≤ atol + rtol·|want|, NaN only where the reference is NaN. */
export interface Comparison {
  ok: boolean;
  /** Largest |got − want|. */
  maxAbsError: number;
  /** Largest |got − want| / |want| over elements with want ≠ 0. */
  maxRelError: number;
  /** The element that exceeds its bound by the most (or the largest error when all pass). */
  worst?: { index: number; got: number; want: number };
  message?: string;
}

export function compareArrays(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol: number,
): Comparison {
  if (got.length !== want.length) {
    return { ok: false, maxAbsError: Infinity, maxRelError: Infinity, message: `length ${got.length} ≠ reference length ${want.length}` };
  }
  let ok = true;
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstExcess = -Infinity;
  let worst: Comparison['worst'];
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) {
        ok = false;
        maxAbsError = Infinity;
        worst = { index: i, got: g, want: w };
        worstExcess = Infinity;
      }
      continue;
    }
    const err = g === w ? 0 : Math.abs(g - w); // equal infinities are equal
    maxAbsError = Math.max(maxAbsError, err);
    if (w !== 0) maxRelError = Math.max(maxRelError, err / Math.abs(w));
    const excess = err - (atol + rtol * Math.abs(w));
    if (excess > 0) ok = false;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = { index: i, got: g, want: w };
    }
  }
  return { ok, maxAbsError, maxRelError, worst };
}
