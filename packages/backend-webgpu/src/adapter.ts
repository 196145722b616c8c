/** Asks for an adapter and classifies it as a hardware GPU or a software rasterizer. */
import type { AdapterInfoLike, GpuLike, PowerPreference } from './gpu-types.js';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** SwiftShader, lavapipe/llvmpipe, WARP, or flagged as a fallback adapter. */
  software: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|warp|microsoft basic render/i;

export async function probeAdapter(gpu: GpuLike, powerPreference: PowerPreference): Promise<AdapterSummary | null> {
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) return null;
  // `info` is the current API; older browsers only had requestAdapterInfo().
  const info: AdapterInfoLike = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  const summary = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  const fallback = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
  const software = fallback || SOFTWARE.test(Object.values(summary).join(' '));
  return { ...summary, software };
}

export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' ');
  return `${a.software ? 'software' : 'hardware'} adapter ${name || '(no adapter info)'}`;
}
