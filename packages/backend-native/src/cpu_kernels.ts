import { getKernel, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@nutshell/core';
import type { NativeBackend } from './native_backend.js';

/** Runs the cpu backend's kernel `name` on the native backend (their tensor storage is shared). */
export function runCpuKernel(
  name: string,
  backend: NativeBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(name, 'cpu');
  if (!kernel) throw new Error(`@nutshell/backend-native: the cpu backend has no kernel '${name}' to fall back to`);
  return (kernel.kernelFunc as KernelFunc)({ inputs, attrs, backend }) as TensorInfo;
}
