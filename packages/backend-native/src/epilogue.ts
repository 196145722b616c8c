import type { TensorInfo } from '@nutshell/core';
import { runCpuKernel } from './cpu_kernels.js';
import type { NativeBackend } from './native_backend.js';

/** tfjs's fused activations (backend_util.Activation). */
export type Activation = 'linear' | 'relu' | 'prelu' | 'elu' | 'relu6' | 'leakyrelu' | 'sigmoid';

export interface Epilogue {
  bias?: TensorInfo;
  activation?: Activation;
  preluActivationWeights?: TensorInfo;
  leakyreluAlpha?: number;
}

/**
 * Applies `+ bias` then the activation to a fresh kernel result `out` (whose values nobody else
 * holds yet, so they are updated in place). A per-channel or scalar float32 bias and the
 * elementwise activations run in place; anything else goes through the cpu kernels (Add, Prelu).
 */
export function applyEpilogue(backend: NativeBackend, out: TensorInfo, epilogue: Epilogue): TensorInfo {
  const { bias, activation, preluActivationWeights, leakyreluAlpha } = epilogue;
  let current = out;
  let owned = true; // current's values were created by this kernel and can be rewritten
  if (bias) {
    if (bias.dtype === 'float32' && isChannelBias(bias.shape, current.shape)) {
      addChannelBias(backend.float32(current), backend.float32(bias));
    } else {
      const sum = runCpuKernel('Add', backend, { a: current, b: bias });
      backend.disposeIntermediateTensorInfo(current);
      current = sum;
      owned = current.dtype === 'float32';
    }
  }
  if (!activation || activation === 'linear') return current;
  if (activation === 'prelu' || !owned) {
    const kernel = ACTIVATION_KERNELS[activation];
    if (!kernel) throw new Error(`Activation ${activation} has not been implemented for the native backend.`);
    const inputs = activation === 'prelu' ? { x: current, alpha: preluActivationWeights! } : { x: current };
    const result = runCpuKernel(kernel, backend, inputs, activation === 'leakyrelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {});
    backend.disposeIntermediateTensorInfo(current);
    return result;
  }
  activateInPlace(backend.float32(current), activation, leakyreluAlpha ?? 0.2);
  return current;
}

const ACTIVATION_KERNELS: Record<Activation, string> = {
  linear: 'Identity',
  relu: 'Relu',
  prelu: 'Prelu',
  elu: 'Elu',
  relu6: 'Relu6',
  leakyrelu: 'LeakyRelu',
  sigmoid: 'Sigmoid',
};

/** A scalar, or a vector over the last axis (any leading 1s), that broadcasts without changing the shape. */
function isChannelBias(biasShape: readonly number[], outShape: readonly number[]): boolean {
  if (biasShape.length > outShape.length) return false;
  const size = biasShape.reduce((a, b) => a * b, 1);
  if (size === 1) return true;
  const last = outShape[outShape.length - 1];
  return biasShape[biasShape.length - 1] === last && size === last;
}

function addChannelBias(values: Float32Array, bias: Float32Array): void {
  const c = bias.length;
  if (c === 1) {
    const b = bias[0]!;
    for (let i = 0; i < values.length; i++) values[i]! += b;
    return;
  }
  for (let row = 0; row < values.length; row += c) {
    for (let j = 0; j < c; j++) values[row + j]! += bias[j]!;
  }
}

function activateInPlace(v: Float32Array, activation: Exclude<Activation, 'prelu' | 'linear'>, alpha: number): void {
  const n = v.length;
  switch (activation) {
    case 'relu':
      for (let i = 0; i < n; i++) if (v[i]! < 0) v[i] = 0;
      return;
    case 'relu6':
      for (let i = 0; i < n; i++) v[i] = v[i]! < 0 ? 0 : v[i]! > 6 ? 6 : v[i]!;
      return;
    case 'leakyrelu':
      for (let i = 0; i < n; i++) if (v[i]! < 0) v[i] = alpha * v[i]!;
      return;
    case 'elu':
      for (let i = 0; i < n; i++) if (v[i]! < 0) v[i] = Math.exp(v[i]!) - 1;
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) v[i] = 1 / (1 + Math.exp(-v[i]!));
      return;
    default:
      throw new Error(`Activation ${String(activation)} has not been implemented for the native backend.`);
  }
}
