import { DTypeError, InvalidArgumentError, ShapeError, describe, type Tensor } from '@nutshell/core';

/** What the quantizers accept: a float tensor, or plain numbers (flat; give `shape` separately). */
export type TensorLike = Tensor | Float32Array | Float64Array | readonly number[];

export interface FloatInput {
  values: Float32Array;
  shape: number[];
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'dataSync' in x && 'shape' in x && 'dtype' in x;
}

/** Reads any TensorLike into float32 values and a shape (checked against the element count). */
export function readInput(x: TensorLike, shape: readonly number[] | undefined, name: string): FloatInput {
  let values: Float32Array;
  let inferred: number[];
  if (isTensor(x)) {
    if (x.isDisposed) throw new InvalidArgumentError(`${name}: the tensor is disposed`);
    if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new DTypeError(`${name}: expected a float32 tensor, got ${x.dtype}`);
    const data = x.dataSync();
    values = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    inferred = [...x.shape];
  } else if (x instanceof Float32Array) {
    values = x;
    inferred = [x.length];
  } else if (x instanceof Float64Array || Array.isArray(x)) {
    values = Float32Array.from(x as ArrayLike<number>);
    inferred = [values.length];
  } else {
    throw new InvalidArgumentError(`${name}: expected a tensor, a Float32Array or an array of numbers, got ${describe(x)}`);
  }
  const finalShape = shape ? [...shape] : inferred;
  for (const d of finalShape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${name}: shape must hold non-negative integers, got [${finalShape.join(', ')}]`);
  }
  const n = finalShape.reduce((a, b) => a * b, 1);
  if (n !== values.length) throw new ShapeError(`${name}: shape [${finalShape.join(', ')}] holds ${n} elements, but ${values.length} were given`);
  return { values, shape: finalShape };
}

/** Quantizers need finite inputs: NaN and ±Infinity have no quantized value. */
export function assertFinite(values: Float32Array, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new InvalidArgumentError(`${name}: element ${i} is ${values[i]}; only finite values can be quantized`);
  }
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
