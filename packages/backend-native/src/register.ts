import { findBackendFactory, getKernel, getKernelsForBackend, registerBackend, registerFusedKernelGradients, registerKernel, type KernelConfig } from '@nutshell/core';
import type { NativeAddon } from './addon.js';
import { nativeConvKernels } from './kernels/conv2d.js';
import { nativeElementwiseKernels } from './kernels/elementwise.js';
import { nativeFusedKernels } from './kernels/fused.js';
import { nativeTrainingKernels } from './kernels/training.js';
import { nativeGatherKernels } from './kernels/gather.js';
import { nativeLayoutKernels } from './kernels/layout.js';
import { nativeMatMulKernels } from './kernels/matmul.js';
import { nativeOptimKernels } from './kernels/optim.js';
import { nativePoolKernels } from './kernels/pool.js';
import { nativeReduceKernels } from './kernels/reduce.js';
import { NativeBackend } from './native_backend.js';

export const NATIVE_BACKEND_NAME = 'native';

/** The addon's kernels by group (names for NUTSHELL_NATIVE_SKIP). */
export const nativeKernelGroups: Record<string, KernelConfig[]> = {
  blas: [...nativeMatMulKernels, ...nativeConvKernels],
  elementwise: nativeElementwiseKernels,
  layout: nativeLayoutKernels,
  reduce: nativeReduceKernels,
  fused: nativeFusedKernels,
  training: nativeTrainingKernels,
  pool: nativePoolKernels,
  gather: nativeGatherKernels,
  optim: nativeOptimKernels,
};

/** Kernels the addon runs; every other kernel is the cpu backend's. */
export const nativeKernels = Object.values(nativeKernelGroups).flat();

/**
 * The kernels to register. For before/after benchmarks: NUTSHELL_NATIVE_KERNELS=blas keeps only
 * the BLAS kernels (matmul, conv); NUTSHELL_NATIVE_SKIP=fused,pool,... leaves those groups out.
 */
function selectedKernels(): KernelConfig[] {
  const env = typeof process !== 'undefined' ? process.env : {};
  if (env?.NUTSHELL_NATIVE_KERNELS === 'blas') return nativeKernelGroups.blas!;
  const skip = new Set((env?.NUTSHELL_NATIVE_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  return Object.entries(nativeKernelGroups).flatMap(([group, kernels]) => (skip.has(group) ? [] : kernels));
}

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
  const selected = selectedKernels();
  for (const config of selected) {
    if (!getKernel(config.kernelName, NATIVE_BACKEND_NAME)) registerKernel(config);
  }
  registerFusedKernelGradients();
  for (const config of getKernelsForBackend('cpu')) {
    if (getKernel(config.kernelName, NATIVE_BACKEND_NAME)) continue;
    registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME });
  }
}
