import type { GpuLike } from './gpu-types.js';

/**
 * Finds a WebGPU entry point: the browser's `navigator.gpu`, or in Node the optional `webgpu`
 * package (Dawn), installed as `navigator.gpu` together with the GPU* globals tfjs expects.
 * tfjs-backend-webgpu only registers itself if `navigator.gpu` exists when it is imported, so
 * this must run first.
 */

export type GpuSource = 'browser' | 'dawn (npm webgpu)' | 'existing navigator.gpu';

export interface GpuEntry {
  gpu: GpuLike;
  source: GpuSource;
}

let cached: Promise<GpuEntry | { error: string }> | undefined;

export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function existingGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

/** Options forwarded to Dawn's `create()` (e.g. 'backend=vulkan'); Node only. */
export function findGpu(dawnFlags: string[] = []): Promise<GpuEntry | { error: string }> {
  cached ??= (async () => {
    const existing = existingGpu();
    if (existing) return { gpu: existing, source: isNode() ? 'existing navigator.gpu' : 'browser' } as GpuEntry;
    if (!isNode()) return { error: 'this browser has no navigator.gpu (WebGPU is off or unsupported here)' };
    let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    try {
      dawn = (await import(/* @vite-ignore */ 'webgpu')) as unknown as typeof dawn;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `failed to load: ${(err as Error).message}`;
      return { error: `in Node WebGPU comes from the optional npm package \`webgpu\` (Dawn), which ${why}` };
    }
    let gpu: GpuLike;
    try {
      gpu = dawn.create(dawnFlags);
    } catch (err) {
      return { error: `the \`webgpu\` package could not create a GpuLike instance: ${(err as Error).message}` };
    }
    installGlobals(dawn.globals, gpu);
    return { gpu, source: 'dawn (npm webgpu)' } as GpuEntry;
  })();
  return cached;
}

/** GPUBufferUsage & co. as globals, and `navigator.gpu`; never overwrites what is already there. */
function installGlobals(globals: Record<string, unknown>, gpu: GpuLike): void {
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) if (!(name in g)) g[name] = value;
  const nav = g.navigator as Record<string, unknown> | undefined;
  if (nav && typeof nav === 'object') {
    // Node ≥ 21 has a read-only global navigator; add gpu to it instead of replacing it.
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, enumerable: true, writable: true });
  } else {
    Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, enumerable: true, writable: true });
  }
}
