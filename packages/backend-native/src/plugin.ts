import { BackendUnavailableError, type Availability, type BackendCapabilities, type BackendPlugin } from '@nutshell/core';
import { defaultThreads, probeNativeAddon } from './addon.js';
import { NATIVE_BACKEND_NAME, registerNativeBackend } from './register.js';

const PACKAGE_NAME = '@nutshell/backend-native';

/** BLAS threads the backend uses (the addon's setting once loaded). */
export function getNativeThreads(): number {
  const probe = probeNativeAddon();
  return probe.ok ? probe.addon.getThreads() : defaultThreads();
}

/** Sets the OpenBLAS thread count (default: NUTSHELL_NATIVE_THREADS, else one per core). */
export function setNativeThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`setNativeThreads: expected a positive integer, got ${String(threads)}`);
  }
  const probe = probeNativeAddon();
  if (!probe.ok) throw new BackendUnavailableError(NATIVE_BACKEND_NAME, probe.reason, PACKAGE_NAME);
  probe.addon.setThreads(threads);
}

const capabilities: BackendCapabilities = {
  gpu: false,
  async: false,
  get threads() {
    return getNativeThreads();
  },
  notes: [
    'OpenBLAS sgemm for matmul / fused matmul',
    'im2col + sgemm for conv2d and its gradients',
    'C kernels for elementwise, layout, reductions, softmax, max pooling, gather',
    'fused decode kernels (LayerNorm, linear + activation + residual, cached attention)',
    'fused Adam / AdamW update (NutshellAdam), used by @nutshell/nn optimizers',
    'other kernels: tfjs cpu',
  ],
};

/** The 'native' backend: tfjs cpu with matmul and conv2d on OpenBLAS through an N-API addon. */
export const nativeBackend: BackendPlugin = {
  name: NATIVE_BACKEND_NAME,
  packageName: PACKAGE_NAME,
  priority: 300,
  capabilities,
  async isAvailable(): Promise<Availability> {
    try {
      const probe = probeNativeAddon();
      if (!probe.ok) return { available: false, reason: probe.reason };
      const { core } = probe.addon.config();
      return { available: true, reason: `OpenBLAS (${core || 'generic'} kernels), ${probe.addon.getThreads()} threads` };
    } catch (err) {
      return { available: false, reason: `availability check failed: ${(err as Error)?.message ?? String(err)}` };
    }
  },
  async setup(): Promise<void> {
    const probe = probeNativeAddon();
    if (!probe.ok) throw new BackendUnavailableError(NATIVE_BACKEND_NAME, probe.reason, PACKAGE_NAME);
    registerNativeBackend(probe.addon);
  },
};
