import type { TensorInfo } from '@nutshell/core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';

/**
 * tfjs's cpu backend (same tensor storage, so every cpu kernel runs unchanged on it) with the
 * heavy kernels (matmul, conv2d) handed to the OpenBLAS addon.
 */
export class NativeBackend extends MathBackendCPU {
  constructor(readonly addon: NativeAddon) {
    super();
    // The cpu backend advertises tfjs-node on first use; that advice does not apply to this backend.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** The float32 values of a tensor without copying (a copy only if stored in another array type). */
  float32(t: TensorInfo): Float32Array {
    const values = this.data.get(t.dataId).values;
    if (values instanceof Float32Array) return values;
    return Float32Array.from(values as ArrayLike<number>);
  }

  /** A tensor that takes ownership of `values` (no copy). */
  adopt(shape: number[], values: Float32Array): TensorInfo {
    return this.makeTensorInfo(shape, 'float32', values);
  }
}
