import { InvalidArgumentError, ShapeError } from '@nutshell/core';
import { f32 } from './float32.js';
import type { Granularity } from './granularity.js';
import { assertFinite, readInput, type TensorLike } from './input.js';
import { computeQParams, type QScheme } from './qparams.js';

/** Scales and zero points an observer settled on, ready for quantizeAffine({ ...qparams }). */
export interface ObservedQParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  granularity: Granularity;
}

/**
 * Watches data and proposes quantization parameters. `observe` may be called any number of times
 * (once per calibration batch); `qparams` reads the current proposal.
 */
export interface Observer {
  readonly name: string;
  readonly scheme: QScheme;
  observe(x: TensorLike, shape?: readonly number[]): void;
  /** The clipping range(s) chosen so far (one per channel for per-channel observers). */
  range(): { min: Float32Array; max: Float32Array };
  qparams(): ObservedQParams;
  reset(): void;
}

export interface ObserverOptions extends QScheme {
  /** Per-channel: one range per index along this axis (PyTorch's PerChannelMinMaxObserver). */
  axis?: number;
}

/** Per-channel (or whole-tensor) min and max of one batch. */
function batchMinMax(x: TensorLike, shape: readonly number[] | undefined, axis: number | undefined, name: string): { min: Float32Array; max: Float32Array } {
  const input = readInput(x, shape, name);
  assertFinite(input.values, name);
  if (input.values.length === 0) throw new ShapeError(`${name}: cannot observe an empty tensor`);
  if (axis === undefined) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of input.values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min: Float32Array.of(min), max: Float32Array.of(max) };
  }
  const rank = input.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new InvalidArgumentError(`${name}: axis ${axis} is out of range for rank ${rank}`);
  const a = axis < 0 ? axis + rank : axis;
  const len = input.shape[a]!;
  const inner = input.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const min = new Float32Array(len).fill(Infinity);
  const max = new Float32Array(len).fill(-Infinity);
  for (let i = 0; i < input.values.length; i++) {
    const c = Math.floor(i / inner) % len;
    const v = input.values[i]!;
    if (v < min[c]!) min[c] = v;
    if (v > max[c]!) max[c] = v;
  }
  return { min, max };
}

function toQParams(min: Float32Array, max: Float32Array, scheme: QScheme, axis: number | undefined): ObservedQParams {
  const scale = new Float32Array(min.length);
  const zeroPoint = new Int32Array(min.length);
  for (let c = 0; c < min.length; c++) {
    const qp = computeQParams(min[c]!, max[c]!, scheme);
    scale[c] = qp.scale;
    zeroPoint[c] = qp.zeroPoint;
  }
  return { scale, zeroPoint, granularity: axis === undefined ? { kind: 'tensor' } : { kind: 'channel', axis } };
}

function notObserved(name: string): never {
  throw new InvalidArgumentError(`${name}: no data observed yet; call observe() (or calibrate()) first`);
}

/** Running min and max over everything observed (PyTorch MinMaxObserver / PerChannelMinMaxObserver). */
export class MinMaxObserver implements Observer {
  readonly name: string = 'minmax';
  readonly scheme: QScheme;
  protected readonly axis: number | undefined;
  protected min: Float32Array | undefined;
  protected max: Float32Array | undefined;

  constructor(options: ObserverOptions) {
    this.scheme = { dtype: options.dtype, symmetric: options.symmetric, narrowRange: options.narrowRange };
    this.axis = options.axis;
    computeQParams(0, 0, this.scheme); // validates the dtype now
  }

  observe(x: TensorLike, shape?: readonly number[]): void {
    const b = batchMinMax(x, shape, this.axis, this.name);
    if (!this.min || !this.max) {
      this.min = b.min;
      this.max = b.max;
      return;
    }
    if (b.min.length !== this.min.length) throw new ShapeError(`${this.name}: batch has ${b.min.length} channels, earlier batches had ${this.min.length}`);
    this.update(b.min, b.max);
  }

  protected update(min: Float32Array, max: Float32Array): void {
    for (let c = 0; c < min.length; c++) {
      this.min![c] = Math.min(this.min![c]!, min[c]!);
      this.max![c] = Math.max(this.max![c]!, max[c]!);
    }
  }

  range(): { min: Float32Array; max: Float32Array } {
    if (!this.min || !this.max) notObserved(this.name);
    return { min: this.min.slice(), max: this.max.slice() };
  }

  qparams(): ObservedQParams {
    const { min, max } = this.range();
    return toQParams(min, max, this.scheme, this.axis);
  }

  reset(): void {
    this.min = this.max = undefined;
  }
}

/**
 * Exponential moving average of each batch's min and max (PyTorch MovingAverageMinMaxObserver):
 * the first batch sets the range, later ones move it by `averagingConstant` (default 0.01) of the gap.
 */
export class MovingAverageMinMaxObserver extends MinMaxObserver {
  override readonly name: string = 'moving-average-minmax';
  readonly averagingConstant: number;

  constructor(options: ObserverOptions & { averagingConstant?: number }) {
    super(options);
    const c = options.averagingConstant ?? 0.01;
    if (!(c > 0 && c <= 1)) throw new InvalidArgumentError(`averagingConstant must be in (0, 1], got ${c}`);
    this.averagingConstant = c;
  }

  protected override update(min: Float32Array, max: Float32Array): void {
    const c = f32(this.averagingConstant);
    for (let i = 0; i < min.length; i++) {
      this.min![i] = f32(this.min![i]! + f32(c * f32(min[i]! - this.min![i]!)));
      this.max![i] = f32(this.max![i]! + f32(c * f32(max[i]! - this.max![i]!)));
    }
  }
}
