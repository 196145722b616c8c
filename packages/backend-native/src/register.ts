import { findBackendFactory, getKernel, getKernelsForBackend, registerBackend, registerKernel } from '@nutshell/core';
import type { NativeAddon } from './addon.js';
import { nativeConvKernels } from './kernels/conv2d.js';
import { nativeElementwiseKernels } from './kernels/elementwise.js';
import { nativeLayoutKernels } from './kernels/layout.js';
import { nativeMatMulKernels } from './kernels/matmul.js';
import { nativeReduceKernels } from './kernels/reduce.js';
import { NativeBackend } from './native_backend.js';

export const NATIVE_BACKEND_NAME = 'native';

/** Kernels the addon runs; every other kernel is the cpu backend's. */
export const nativeKernels = [
  ...nativeMatMulKernels,
  ...nativeConvKernels,
  ...nativeElementwiseKernels,
  ...nativeLayoutKernels,
  ...nativeReduceKernels,
];

/**
 * Registers the tfjs backend 'native': its own kernels plus a copy of every kernel registered for
 * 'cpu' (they run unchanged, the storage is the cpu backend's). Safe to call again: kernels
 * registered for 'cpu' since the last call are copied then.
 */
export function registerNativeBackend(addon: NativeAddon): void {
  if (!findBackendFactory(NATIVE_BACKEND_NAME)) {
    // Priority 0: registering must not make tfjs pick 'native' on its own; useBackend chooses.
    registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(addon), 0);
  }
  // NUTSHELL_NATIVE_KERNELS=blas keeps only the BLAS kernels (matmul, conv): for before/after benchmarks.
  const blasOnly = typeof process !== 'undefined' && process.env?.NUTSHELL_NATIVE_KERNELS === 'blas';
  for (const config of blasOnly ? [...nativeMatMulKernels, ...nativeConvKernels] : nativeKernels) {
    if (!getKernel(config.kernelName, NATIVE_BACKEND_NAME)) registerKernel(config);
  }
  for (const config of getKernelsForBackend('cpu')) {
    if (getKernel(config.kernelName, NATIVE_BACKEND_NAME)) continue;
    registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME });
  }
}
