import { util, type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@nutshell/core';
import type { NativeBackend } from '../native_backend.js';

/**
 * `NutshellAdam`: one fused Adam / AdamW update per parameter (src-c/optim.c), for optimizers that
 * find it with `getKernel(ADAM_KERNEL, tf.getBackend())` (nn's Adam and AdamW do) instead of ~12
 * elementwise ops. No gradient.
 *
 * Inputs { param, grad, m, v } (float32, same shape) / attrs { lr, beta1, beta2, eps, weightDecay,
 * decoupled, step } → [param', m', v'] with PyTorch's update (step counts from 1):
 *   decoupled (AdamW): p ← p·(1 − lr·wd);  otherwise (Adam): g ← g + wd·p
 *   m' = β₁m + (1−β₁)g;  v' = β₂v + (1−β₂)g²;  p' = p − lr/(1−β₁ᵗ) · m' / (√v'/√(1−β₂ᵗ) + ε)
 * Outputs are fresh buffers (three allocations, one dispatch). Not in place: on this backend a
 * tensor's storage can be the very Float32Array its creator passed to tf.tensor() or that
 * dataSync() handed out (both alias, no copy), so writing a parameter or moment in place would
 * change arrays callers still hold; tfjs tensors are immutable.
 */
export const ADAM_KERNEL = 'NutshellAdam';

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay?: number;
  decoupled?: boolean;
  step: number;
}

function fail(message: string): never {
  throw new Error(`${ADAM_KERNEL}: ${message}`);
}

function adam({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] {
  const backend = b as NativeBackend;
  const { param, grad, m, v } = inputs as { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo };
  for (const [n, t] of [['param', param], ['grad', grad], ['m', m], ['v', v]] as const) {
    if (!t) fail(`${n} is required`);
    if (t.dtype !== 'float32') fail(`${n} must be float32, got ${t.dtype}`);
    if (!util.arraysEqual(t.shape, param.shape)) fail(`${n} has shape [${t.shape}], param [${param.shape}]`);
  }
  const { lr, beta1, beta2, eps, weightDecay = 0, decoupled = true, step } = (attrs ?? {}) as unknown as AdamAttrs;
  if (!(Number.isInteger(step) && step >= 1)) fail(`step must be an integer ≥ 1, got ${step}`);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const coef = Float64Array.of(
    decoupled && weightDecay ? 1 - lr * weightDecay : 1, beta1, 1 - beta1, beta2, 1 - beta2,
    Math.sqrt(bc2), eps, lr / bc1, decoupled ? 0 : weightDecay,
  );
  const size = util.sizeFromShape(param.shape);
  const [po, mo, vo] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  backend.addon.adam(backend.float32(param), backend.float32(grad), backend.float32(m), backend.float32(v), po, mo, vo, coef);
  return [po, mo, vo].map((values) => backend.adopt([...param.shape], values));
}

export const nativeOptimKernels: KernelConfig[] = [
  { kernelName: ADAM_KERNEL, backendName: 'native', kernelFunc: adam as unknown as KernelFunc },
];
