import {
  GatherV2, UnsortedSegmentSum, backend_util, util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import { runCpuKernel } from '../cpu_kernels.js';
import type { NativeBackend } from '../native_backend.js';

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

/** float32 and int32 values as 4-byte words the addon copies (int32 viewed as Float32Array, no copy). */
function words(values: unknown): Float32Array | null {
  if (values instanceof Float32Array) return values;
  if (values instanceof Int32Array) return new Float32Array(values.buffer, values.byteOffset, values.length);
  return null;
}

function gatherV2({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = attrs as unknown as { axis: number; batchDims?: number };
  const xValues = backend.data.get(x.dataId).values;
  const idx = backend.data.get(indices.dataId).values;
  const src = words(xValues);
  if (!src || !(idx instanceof Int32Array) || (x.dtype !== 'float32' && x.dtype !== 'int32')) return runCpuKernel(GatherV2, backend, inputs, attrs);
  const parsedAxis = util.parseAxisParam(axis, x.shape)[0]!;
  const axisDim = x.shape[parsedAxis]!;
  // Same check and message as the cpu kernel.
  for (let i = 0; i < idx.length; ++i) {
    const index = idx[i]!;
    util.assert(index <= axisDim - 1 && index >= 0, () => `GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
  }
  const info = backend_util.segment_util.collectGatherOpShapeInfo(x as never, indices as never, parsedAxis, batchDims ?? 0);
  const size = util.sizeFromShape(info.outputShape);
  const out = x.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  if (size > 0) backend.addon.gather(src, idx, words(out)!, info.batchSize, info.outerSize, info.dimSize, info.sliceSize);
  return backend.makeTensorInfo(info.outputShape, x.dtype, out);
}

function unsortedSegmentSum({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const ids = backend.data.get(segmentIds.dataId).values;
  // The gradient of gather passes 1-D ids; other layouts keep the cpu kernel's semantics.
  if (x.dtype !== 'float32' || segmentIds.shape.length !== 1 || !(ids instanceof Int32Array) || x.shape[0] !== ids.length) {
    return runCpuKernel(UnsortedSegmentSum, backend, inputs, attrs);
  }
  const inner = util.sizeFromShape(x.shape.slice(1));
  const out = new Float32Array(numSegments * inner);
  if (out.length > 0) backend.addon.segmentSum(backend.float32(x), ids, out, numSegments, inner);
  return backend.adopt([numSegments, ...x.shape.slice(1)], out);
}

const k = (kernelName: string, f: (args: KernelArgs) => TensorInfo): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: f as unknown as KernelFunc,
});

export const nativeGatherKernels: KernelConfig[] = [k(GatherV2, gatherV2), k(UnsortedSegmentSum, unsortedSegmentSum)];
