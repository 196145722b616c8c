import {
  Max, Mean, Min, Softmax, Sum, backend_util, util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import { runCpuKernel } from '../cpu_kernels.js';
import type { NativeBackend } from '../native_backend.js';
import { transposeValues } from './layout.js';

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

/** Op codes of src-c/addon.c (enum R_*). */
const REDUCE_OPS: Record<string, number> = { [Sum]: 0, [Mean]: 1, [Max]: 2, [Min]: 3 };

/**
 * Reduces float32 x over `axes` (tfjs semantics, keepDims) as rows: reduced axes moved last by a
 * native transpose when they are not already the trailing ones. Null for what it leaves to cpu.
 */
function nativeReduce(backend: NativeBackend, name: string, x: TensorInfo, axis: number | number[] | null | undefined, keepDims: boolean): TensorInfo | null {
  if (x.dtype !== 'float32') return null;
  const axes = util.parseAxisParam(axis as number | number[], x.shape);
  const size = util.sizeFromShape(x.shape);
  const [outShape, reduceShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  const cols = util.sizeFromShape(reduceShape);
  if (size === 0 || cols === 0) return null;
  const perm = backend_util.getAxesPermutation(axes, x.shape.length);
  const outKept = keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
  if (perm && (name === Sum || name === Mean)) {
    // Sums over leading / interleaved axes: one pass in memory order instead of transpose + rows.
    const { sizes, reduced } = mergeBlocks(x.shape, axes);
    const out = new Float32Array(size / cols);
    backend.addon.reduceBlocks(name === Mean, backend.float32(x), out, sizes, reduced);
    return backend.adopt(outKept, out);
  }
  const values = perm ? transposeValues(backend, x, perm) : backend.float32(x);
  if (!values) return null;
  const rows = size / cols;
  const out = new Float32Array(rows);
  backend.addon.reduceRows(REDUCE_OPS[name]!, values, out, rows, cols);
  return backend.adopt(outKept, out);
}

/** Adjacent axes of the same kind (reduced or kept) merged into blocks; size-1 axes dropped. */
function mergeBlocks(shape: number[], axes: number[]): { sizes: Int32Array; reduced: Int32Array } {
  const sizes: number[] = [];
  const reduced: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const r = axes.includes(i) ? 1 : 0;
    if (reduced.length && reduced[reduced.length - 1] === r) sizes[sizes.length - 1]! *= d;
    else {
      sizes.push(d);
      reduced.push(r);
    }
  });
  if (!sizes.length) return { sizes: Int32Array.of(1), reduced: Int32Array.of(0) };
  return { sizes: Int32Array.from(sizes), reduced: Int32Array.from(reduced) };
}

function reduceKernel(name: string): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { x } = inputs as { x: TensorInfo };
    const a = (attrs ?? {}) as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };
    // null / undefined axis means all axes (parseAxisParam).
    const axis = (name === Max ? a.reductionIndices : a.axis) as number | number[];
    return nativeReduce(backend as NativeBackend, name, x, axis, !!a.keepDims) ?? runCpuKernel(name, backend as NativeBackend, inputs, attrs);
  };
  return { kernelName: name, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

function softmax({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { logits } = inputs as { logits: TensorInfo };
  const { dim } = (attrs ?? {}) as { dim?: number };
  const rank = logits.shape.length;
  const last = dim === undefined || dim === -1 || dim === rank - 1;
  const size = util.sizeFromShape(logits.shape);
  if (logits.dtype !== 'float32' || !last || rank === 0 || size === 0) return runCpuKernel(Softmax, backend, inputs, attrs);
  const cols = logits.shape[rank - 1]!;
  const out = new Float32Array(size);
  backend.addon.softmaxRows(backend.float32(logits), out, size / cols, cols);
  return backend.adopt([...logits.shape], out);
}

export const nativeReduceKernels: KernelConfig[] = [
  ...Object.keys(REDUCE_OPS).map(reduceKernel),
  { kernelName: Softmax, backendName: 'native', kernelFunc: softmax as unknown as KernelFunc },
];
