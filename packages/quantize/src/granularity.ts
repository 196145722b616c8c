import { InvalidArgumentError, ShapeError } from '@nutshell/core';

/**
 * Which elements share one scale and zero point:
 * - `tensor`: all of them;
 * - `channel`: those with the same index along `axis` (PyTorch's per-channel);
 * - `group`: runs of `size` consecutive elements along `axis` (default: the last), separately for every
 *   position of the other axes — the per-group/block weight quantization of GPTQ/AWQ-style int4.
 */
export type Granularity = { kind: 'tensor' } | { kind: 'channel'; axis: number } | { kind: 'group'; size: number; axis?: number };

/** Resolved layout: param index of every element, and the shape of the scale/zero-point arrays. */
export interface ParamLayout {
  granularity: Granularity;
  paramShape: number[];
  paramCount: number;
  /** param index of flat element i */
  index: Int32Array;
}

function normAxis(axis: number, rank: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new InvalidArgumentError(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export function resolveGranularity(granularity: Granularity | undefined, shape: readonly number[]): ParamLayout {
  const g: Granularity = granularity ?? { kind: 'tensor' };
  const n = shape.reduce((a, b) => a * b, 1);
  const index = new Int32Array(n);
  if (g.kind === 'tensor') return { granularity: g, paramShape: [], paramCount: 1, index };
  if (g.kind !== 'channel' && g.kind !== 'group') throw new InvalidArgumentError(`granularity.kind must be tensor, channel or group, got ${JSON.stringify((g as { kind: unknown }).kind)}`);
  if (shape.length === 0) throw new ShapeError(`${g.kind} granularity needs a tensor of rank ≥ 1`);
  const axis = normAxis(g.kind === 'channel' ? g.axis : (g.axis ?? -1), shape.length, `${g.kind} granularity`);
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  if (g.kind === 'channel') {
    for (let i = 0; i < n; i++) index[i] = Math.floor(i / inner) % len;
    return { granularity: { kind: 'channel', axis }, paramShape: [len], paramCount: len, index };
  }
  const size = g.size;
  if (!Number.isInteger(size) || size <= 0) throw new InvalidArgumentError(`group granularity: size must be a positive integer, got ${size}`);
  if (len % size !== 0) throw new ShapeError(`group granularity: axis ${axis} has length ${len}, not a multiple of the group size ${size}`);
  const groups = len / size;
  for (let i = 0; i < n; i++) {
    const r = i % inner;
    const k = Math.floor(i / inner) % len;
    const o = Math.floor(i / (inner * len));
    index[i] = (o * groups + Math.floor(k / size)) * inner + r;
  }
  const paramShape = [...shape];
  paramShape[axis] = groups;
  return { granularity: { kind: 'group', size, axis }, paramShape, paramCount: paramShape.reduce((a, b) => a * b, 1), index };
}
