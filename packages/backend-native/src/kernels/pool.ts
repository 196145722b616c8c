import {
  MaxPool, MaxPoolGrad, backend_util, util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import { runCpuKernel } from '../cpu_kernels.js';
import type { NativeBackend } from '../native_backend.js';

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };
interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The addon's pool parameter block (src-c/pool.c), or null where the cpu kernel should run. */
function poolParams(x: TensorInfo, attrs: PoolAttrs): { info: backend_util.Conv2DInfo; params: Int32Array } | null {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return null;
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode,
  );
  // A 1×1 pool that keeps the shape is the identity (cpu returns the input itself).
  if (info.filterWidth === 1 && info.filterHeight === 1 && util.arraysEqual(info.inShape, info.outShape)) return null;
  const params = Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.effectiveFilterHeight, info.effectiveFilterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  );
  return { info, params };
}

function maxPool({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  const p = poolParams(x, attrs as unknown as PoolAttrs);
  if (!p) return runCpuKernel(MaxPool, backend, inputs, attrs);
  const out = new Float32Array(util.sizeFromShape(p.info.outShape));
  if (out.length > 0) backend.addon.maxPool(backend.float32(x), out, p.params);
  return backend.adopt(p.info.outShape, out);
}

function maxPoolGrad({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const p = dy.dtype === 'float32' ? poolParams(input, attrs as unknown as PoolAttrs) : null;
  // tfjs's maxPool gradient drops dimRoundingMode, so dy can be larger than the pool info says;
  // the cpu kernel's handling of that case is kept as is.
  if (!p || !util.arraysEqual(dy.shape, p.info.outShape)) return runCpuKernel(MaxPoolGrad, backend, inputs, attrs);
  const dx = new Float32Array(util.sizeFromShape(input.shape));
  if (dx.length > 0) backend.addon.maxPoolGrad(backend.float32(dy), backend.float32(input), dx, p.params);
  return backend.adopt([...input.shape], dx);
}

const k = (kernelName: string, f: (args: KernelArgs) => TensorInfo): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: f as unknown as KernelFunc,
});

export const nativePoolKernels: KernelConfig[] = [k(MaxPool, maxPool), k(MaxPoolGrad, maxPoolGrad)];
