import { BackendUnavailableError, tf, type Availability, type BackendPlugin } from '@nutshell/core';
import { describeAdapter, probeAdapter, type AdapterSummary } from './adapter.js';
import type { PowerPreference } from './gpu-types.js';
import { findGpu, type GpuEntry } from './navigator.js';
import { noAdapterHint } from './hints.js';

export const PACKAGE_NAME = '@nutshell/backend-webgpu';
/** Priority with a real GPU: above native and wasm. */
export const HARDWARE_PRIORITY = 400;
/** Priority on a software rasterizer (SwiftShader, lavapipe): below wasm (200), which is faster there. */
export const SOFTWARE_PRIORITY = 50;

export interface WebGpuBackendOptions {
  /** Passed to requestAdapter and tfjs (WEBGPU_USE_LOW_POWER_GPU). Default 'high-performance'. */
  powerPreference?: PowerPreference;
  /** Flags for Dawn's `create()` in Node, e.g. ['backend=vulkan']. */
  dawnFlags?: string[];
}

interface Probe {
  entry?: GpuEntry;
  adapter?: AdapterSummary;
  error?: string;
}

/** Builds a webgpu backend plugin; the default export uses the default options. */
export function createWebGpuBackend(options: WebGpuBackendOptions = {}): BackendPlugin {
  const powerPreference = options.powerPreference ?? 'high-performance';
  let probed: Promise<Probe> | undefined;
  let ready: Promise<void> | undefined;

  const probe = () =>
    (probed ??= (async (): Promise<Probe> => {
      const found = await findGpu(options.dawnFlags);
      if ('error' in found) return { error: `no WebGPU: ${found.error}. ${noAdapterHint()}` };
      const adapter = await probeAdapter(found.gpu, powerPreference);
      if (!adapter) return { entry: found, error: `no WebGPU adapter (navigator.gpu from ${found.source}). ${noAdapterHint()}` };
      return { entry: found, adapter };
    })().catch((err: unknown): Probe => ({ error: `probing WebGPU failed: ${(err as Error).message}` })));

  return {
    name: 'webgpu',
    packageName: PACKAGE_NAME,
    priority: HARDWARE_PRIORITY,
    capabilities: { gpu: true, async: true, threads: 1, notes: ['WGSL compute shaders', 'read results with await data()'] },

    async isAvailable(): Promise<Availability> {
      const p = await probe();
      if (p.error || !p.adapter) return { available: false, reason: p.error ?? 'no adapter' };
      const priority = p.adapter.software ? SOFTWARE_PRIORITY : HARDWARE_PRIORITY;
      const note = p.adapter.software ? ' (software rendering: slower than wasm, so ranked below it)' : '';
      return { available: true, reason: `${describeAdapter(p.adapter)} via ${p.entry!.source}${note}`, priority };
    },

    setup(): Promise<void> {
      ready ??= (async () => {
        const p = await probe();
        if (p.error || !p.adapter) throw new BackendUnavailableError('webgpu', p.error ?? 'no adapter', PACKAGE_NAME);
        if (powerPreference === 'low-power') tf.env().set('WEBGPU_USE_LOW_POWER_GPU', true);
        // navigator.gpu exists now, so importing registers the 'webgpu' backend factory.
        await import('@tensorflow/tfjs-backend-webgpu');
        if (!tf.findBackendFactory('webgpu')) {
          throw new BackendUnavailableError('webgpu', 'tfjs-backend-webgpu did not register (navigator.gpu missing at import)', PACKAGE_NAME);
        }
      })().catch((err: unknown) => {
        ready = undefined;
        throw err;
      });
      return ready;
    },
  };
}

