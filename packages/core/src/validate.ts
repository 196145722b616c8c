import type { DataType, Tensor } from '@tensorflow/tfjs-core';
import { DTypeError, InvalidArgumentError, ShapeError } from './errors.js';

/** A shape pattern: numbers must match, `null` matches any size. */
export type ShapePattern = readonly (number | null)[];

const fmt = (shape: readonly (number | null)[]) => `[${shape.map((d) => (d === null ? '*' : d)).join(', ')}]`;

/** Throws ShapeError unless `tensor.shape` matches the pattern (`null` = any size). */
export function assertShape(name: string, tensor: Pick<Tensor, 'shape'>, expected: ShapePattern): void {
  const got = tensor.shape;
  const ok = got.length === expected.length && expected.every((d, i) => d === null || d === got[i]);
  if (!ok) throw new ShapeError(`${name}: expected shape ${fmt(expected)}, got ${fmt(got)}`);
}

export function assertRank(name: string, tensor: Pick<Tensor, 'shape'>, rank: number | readonly number[]): void {
  const ranks = typeof rank === 'number' ? [rank] : rank;
  if (!ranks.includes(tensor.shape.length)) {
    throw new ShapeError(`${name}: expected rank ${ranks.join(' or ')}, got rank ${tensor.shape.length} (shape ${fmt(tensor.shape)})`);
  }
}

export function assertDType(name: string, tensor: Pick<Tensor, 'dtype'>, dtypes: DataType | readonly DataType[]): void {
  const allowed = typeof dtypes === 'string' ? [dtypes] : dtypes;
  if (!allowed.includes(tensor.dtype)) {
    throw new DTypeError(`${name}: expected dtype ${allowed.join(' or ')}, got ${tensor.dtype}`);
  }
}

export function assertPositiveInt(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name}: expected a positive integer, got ${JSON.stringify(value) ?? String(value)}`);
  }
}

export function assertInRange(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new InvalidArgumentError(`${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(value) ?? String(value)}`);
  }
}
