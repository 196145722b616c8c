/**
 * Strided views for the addon's elementwise and copy loops: a shape plus, per operand, element
 * strides (0 where an operand repeats under broadcasting). Dims that are contiguous in every
 * operand are merged first, so most ops reach the addon as one or two dims.
 */

/** The addon's limit on view rank (src-c/addon.c MAX_RANK). */
export const MAX_VIEW_RANK = 8;

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Strides that read `inShape` (right-aligned, numpy broadcasting) at every index of `outShape`. */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(inShape);
  const offset = outShape.length - inShape.length;
  return outShape.map((_, d) => {
    const i = d - offset;
    return i < 0 || inShape[i] === 1 ? 0 : own[i]!;
  });
}

/**
 * Packs [rank, shape, strides of each operand] after dropping size-1 dims and merging dims that
 * are contiguous in all operands. Returns null when the result would exceed the addon's rank.
 */
export function viewParams(shape: readonly number[], strides: readonly (readonly number[])[]): Int32Array | null {
  const dims: { size: number; strides: number[] }[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const cur = { size: shape[d]!, strides: strides.map((s) => s[d]!) };
    const prev = dims[dims.length - 1];
    // prev (outer) and cur (inner) merge when stepping prev equals stepping cur size times.
    if (prev && prev.strides.every((s, o) => s === cur.strides[o]! * cur.size)) {
      prev.size *= cur.size;
      prev.strides = cur.strides;
    } else dims.push(cur);
  }
  if (dims.length === 0) dims.push({ size: 1, strides: strides.map(() => 0) });
  if (dims.length > MAX_VIEW_RANK) return null;
  const r = dims.length;
  const out = new Int32Array(1 + r * (1 + strides.length));
  out[0] = r;
  dims.forEach((dim, d) => {
    out[1 + d] = dim.size;
    dim.strides.forEach((s, o) => (out[1 + r * (1 + o) + d] = s));
  });
  return out;
}
