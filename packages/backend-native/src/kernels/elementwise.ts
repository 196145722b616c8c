import {
  Abs, Add, Exp, Log, Maximum, Minimum, Multiply, Neg, Pow, RealDiv, Reciprocal, Relu, Rsqrt, Sigmoid, Sqrt, Square,
  SquaredDifference, Step, Sub, Tanh, backend_util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import { runCpuKernel } from '../cpu_kernels.js';
import type { NativeBackend } from '../native_backend.js';
import { broadcastStrides, contiguousStrides, viewParams } from '../view.js';

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

/** Op codes of src-c/addon.c (enum B_*), by tfjs kernel name. */
const BINARY_OPS: Record<string, number> = {
  [Add]: 0, [Sub]: 1, [Multiply]: 2, [RealDiv]: 3, [Pow]: 4, [SquaredDifference]: 5, [Maximum]: 6, [Minimum]: 7,
};

/** Op codes of src-c/addon.c (enum U_*). */
const UNARY_OPS: Record<string, number> = {
  [Exp]: 0, [Log]: 1, [Tanh]: 2, [Sqrt]: 3, [Rsqrt]: 4, [Square]: 5, [Neg]: 6, [Abs]: 7, [Relu]: 8, [Sigmoid]: 9, [Reciprocal]: 10,
  [Step]: 11, // relu's gradient; attr alpha
};

/** a op b for float32 a, b with numpy broadcasting; null (cpu fallback) for other dtypes. */
export function nativeBinary(backend: NativeBackend, name: string, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const size = shape.reduce((x, y) => x * y, 1);
  const view = viewParams(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  if (!view) return null;
  const out = new Float32Array(size);
  if (size > 0) backend.addon.binary(BINARY_OPS[name]!, backend.float32(a), backend.float32(b), out, view);
  return backend.adopt(shape, out);
}

function binaryKernel(name: string): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    return nativeBinary(backend as NativeBackend, name, a, b) ?? runCpuKernel(name, backend as NativeBackend, inputs, attrs);
  };
  return { kernelName: name, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

function unaryKernel(name: string): KernelConfig {
  const kernelFunc = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo => {
    const backend = b as NativeBackend;
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype !== 'float32') return runCpuKernel(name, backend, inputs, attrs);
    const values = backend.float32(x);
    const out = new Float32Array(values.length);
    backend.addon.unary(UNARY_OPS[name]!, values, out, (attrs as { alpha?: number } | undefined)?.alpha ?? 0);
    return backend.adopt([...x.shape], out);
  };
  return { kernelName: name, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

export const nativeElementwiseKernels: KernelConfig[] = [
  ...Object.keys(BINARY_OPS).map(binaryKernel),
  ...Object.keys(UNARY_OPS).map(unaryKernel),
];
