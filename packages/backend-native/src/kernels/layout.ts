import {
  Concat, Slice, SplitV, Transpose, backend_util, slice_util, util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import { runCpuKernel } from '../cpu_kernels.js';
import type { NativeBackend } from '../native_backend.js';
import { contiguousStrides, viewParams } from '../view.js';

type KernelArgs = { inputs: NamedTensorInfoMap | TensorInfo[]; backend: unknown; attrs?: NamedAttrMap };

/** Copies x permuted by `perm` into a new contiguous array (null if the view is too complex). */
export function transposeValues(backend: NativeBackend, x: TensorInfo, perm: readonly number[]): Float32Array | null {
  const inStrides = contiguousStrides(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const view = viewParams(shape, [perm.map((p) => inStrides[p]!), contiguousStrides(shape)]);
  if (!view) return null;
  const out = new Float32Array(util.sizeFromShape(shape));
  if (out.length > 0) backend.addon.copy(backend.float32(x), 0, out, 0, view);
  return out;
}

function transpose({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const { perm } = attrs as unknown as { perm: number[] };
  const out = x.dtype === 'float32' ? transposeValues(backend, x, perm) : null;
  if (!out) return runCpuKernel(Transpose, backend, inputs as NamedTensorInfoMap, attrs);
  return backend.adopt(perm.map((p) => x.shape[p]!), out);
}

/** x[begin : begin + size] as a new contiguous float32 tensor. */
function sliceValues(backend: NativeBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo | null {
  const strides = contiguousStrides(x.shape);
  const view = viewParams(size, [strides, contiguousStrides(size)]);
  if (!view) return null;
  const out = new Float32Array(util.sizeFromShape(size));
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d]!, 0);
  if (out.length > 0) backend.addon.copy(backend.float32(x), offset, out, 0, view);
  return backend.adopt([...size], out);
}

function slice({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [$begin, $size] = slice_util.parseSliceParams(x as never, begin, size);
  // Contiguous slices are views on the cpu backend's storage already (no copy): keep them.
  if (x.dtype !== 'float32' || slice_util.isSliceContinous(x.shape, $begin, $size)) {
    return runCpuKernel(Slice, backend, inputs as NamedTensorInfoMap, attrs);
  }
  slice_util.assertParamsValid(x as never, $begin, $size);
  return sliceValues(backend, x, $begin, $size) ?? runCpuKernel(Slice, backend, inputs as NamedTensorInfoMap, attrs);
}

function splitV({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] {
  const backend = b as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const $axis = util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const size = [...x.shape];
  return sizes.map((s) => {
    const sliceSize = [...size];
    sliceSize[$axis] = s;
    const sliceBegin = [...begin];
    begin[$axis] += s;
    const attrsForSlice = { begin: sliceBegin, size: sliceSize } as unknown as NamedAttrMap;
    return slice({ inputs: { x }, backend, attrs: attrsForSlice });
  });
}

function concat({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const xs = inputs as TensorInfo[];
  const { axis } = attrs as unknown as { axis: number };
  const fallback = () => runCpuKernel(Concat, backend, inputs as unknown as NamedTensorInfoMap, attrs);
  if (xs.length === 0 || xs.some((t) => t.dtype !== 'float32')) return fallback();
  const $axis = util.parseAxisParam(axis, xs[0]!.shape)[0]!;
  const outShape = backend_util.computeOutShape(xs.map((t) => t.shape), $axis);
  const out = new Float32Array(util.sizeFromShape(outShape));
  if (out.length === 0) return fallback();
  // As 2-D: [outer, inner_i] blocks side by side in [outer, Σ inner_i].
  const outer = util.sizeFromShape(outShape.slice(0, $axis));
  const outInner = out.length / outer;
  let column = 0;
  for (const t of xs) {
    const inner = util.sizeFromShape(t.shape.slice($axis));
    if (inner > 0) {
      const view = viewParams([outer, inner], [[inner, 1], [outInner, 1]])!;
      backend.addon.copy(backend.float32(t), 0, out, column, view);
    }
    column += inner;
  }
  return backend.adopt(outShape, out);
}

const k = (kernelName: string, f: (args: KernelArgs) => TensorInfo | TensorInfo[]): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: f as unknown as KernelFunc,
});

export const nativeLayoutKernels: KernelConfig[] = [k(Transpose, transpose), k(Slice, slice), k(SplitV, splitV), k(Concat, concat)];
