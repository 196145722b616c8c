import { FUSED_KERNELS, adamCoefficients, fusedRequireFloat32, fusedRequireSameShape, util, type AdamAttrs, type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@nutshell/core';
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
export const ADAM_KERNEL = FUSED_KERNELS.adam;

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

function adam({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] {
  const backend = b as NativeBackend;
  const { param, grad, m, v } = inputs as { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo };
  fusedRequireFloat32(ADAM_KERNEL, { param, grad, m, v });
  fusedRequireSameShape(ADAM_KERNEL, ['param', param], { grad, m, v });
  const coef = adamCoefficients(ADAM_KERNEL, (attrs ?? {}) as unknown as AdamAttrs);
  const size = util.sizeFromShape(param.shape);
  const [po, mo, vo] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  backend.addon.adam(backend.float32(param), backend.float32(grad), backend.float32(m), backend.float32(v), po, mo, vo, coef);
  return [po, mo, vo].map((values) => backend.adopt([...param.shape], values));
}

export const nativeOptimKernels: KernelConfig[] = [
  { kernelName: ADAM_KERNEL, backendName: 'native', kernelFunc: adam as unknown as KernelFunc },
];
