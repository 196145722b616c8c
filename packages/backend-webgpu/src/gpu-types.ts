/**
 * The few WebGPU shapes this package touches, declared locally so it compiles without
 * @webgpu/types (the `webgpu` package is optional).
 */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface AdapterLike {
  info?: AdapterInfoLike;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<AdapterInfoLike>;
}

export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<AdapterLike | null>;
}

export type PowerPreference = 'low-power' | 'high-performance';
