/**
 * For batched matmul: which batch of an input each output batch reads, under numpy broadcasting of
 * the batch dims (right-aligned, size-1 dims repeat). Returns null when the addon's defaults cover
 * it (same batch count as the output: identity; a single batch: always 0).
 */
export function batchMap(inBatchShape: readonly number[], outBatchShape: readonly number[]): Int32Array | null {
  const inSize = product(inBatchShape);
  const outSize = product(outBatchShape);
  if (inSize === outSize || inSize === 1) return null;
  const rank = outBatchShape.length;
  const offset = rank - inBatchShape.length;
  // Stride of each output dim in the input (0 where the input repeats).
  const inStrides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let d = rank - 1; d >= offset; d--) {
    const size = inBatchShape[d - offset]!;
    inStrides[d] = size === 1 ? 0 : stride;
    stride *= size;
  }
  const map = new Int32Array(outSize);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < outSize; i++) {
    let at = 0;
    for (let d = 0; d < rank; d++) at += index[d]! * inStrides[d]!;
    map[i] = at;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < outBatchShape[d]!) break;
      index[d] = 0;
    }
  }
  return map;
}

export function product(shape: readonly number[]): number {
  let p = 1;
  for (const s of shape) p *= s;
  return p;
}
