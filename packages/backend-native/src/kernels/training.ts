import {
  FUSED_KERNELS, fusedActivationCode, fusedAttentionDims, fusedAttentionGradDims, fusedGroupNormDims, fusedRequireChannelParams,
  fusedRequireFloat32, fusedRequireSameShape, util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import type { NativeBackend } from '../native_backend.js';

/**
 * The fused training kernels of @nutshell/core's contract (see its fused-kernels.ts) on the addon:
 * causal attention forward/backward (src-c/attention.c), activations with their gradients
 * (src-c/activation.c) and GroupNorm forward/backward (src-c/group_norm.c). The gradients themselves are registered by core.
 */
type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

function attention({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] {
  const backend = b as NativeBackend;
  const { qkv } = inputs as { qkv: TensorInfo };
  const { numHeads, scale } = (attrs ?? {}) as { numHeads: number; scale: number };
  fusedRequireFloat32(FUSED_KERNELS.attention, { qkv });
  const [B, T, H, d] = fusedAttentionDims(FUSED_KERNELS.attention, qkv, numHeads);
  const p = Int32Array.of(B, T, H, d);
  const y = new Float32Array(B * T * H * d);
  const lse = new Float32Array(B * H * T);
  if (B * T > 0) backend.addon.causalAttention(backend.float32(qkv), y, lse, p, scale);
  return [backend.adopt([B, T, H * d], y), backend.adopt([B, H, T], lse)];
}

function attentionGrad({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { dy, qkv, y, lse } = inputs as { dy: TensorInfo; qkv: TensorInfo; y: TensorInfo; lse: TensorInfo };
  const { numHeads, scale } = (attrs ?? {}) as { numHeads: number; scale: number };
  const [B, T, H, d] = fusedAttentionGradDims(FUSED_KERNELS.attentionGrad, { dy, qkv, y, lse }, numHeads);
  const p = Int32Array.of(B, T, H, d);
  const dqkv = new Float32Array(B * T * 3 * H * d);
  if (B * T > 0) backend.addon.causalAttentionGrad(backend.float32(dy), backend.float32(qkv), backend.float32(y), backend.float32(lse), dqkv, p, scale);
  return backend.adopt([...qkv.shape], dqkv);
}

function activation({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x } = inputs as { x: TensorInfo };
  fusedRequireFloat32(FUSED_KERNELS.activation, { x });
  const act = fusedActivationCode(FUSED_KERNELS.activation, attrs?.activation);
  const n = util.sizeFromShape(x.shape);
  const out = new Float32Array(n);
  backend.addon.activation(backend.float32(x), out, n, act);
  return backend.adopt([...x.shape], out);
}

function activationGrad({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  fusedRequireFloat32(FUSED_KERNELS.activationGrad, { dy, x });
  fusedRequireSameShape(FUSED_KERNELS.activationGrad, ['x', x], { dy });
  const act = fusedActivationCode(FUSED_KERNELS.activationGrad, attrs?.activation);
  const n = util.sizeFromShape(x.shape);
  const dx = new Float32Array(n);
  backend.addon.activationGrad(backend.float32(dy), backend.float32(x), dx, n, act);
  return backend.adopt([...x.shape], dx);
}

function groupNorm({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta?: TensorInfo };
  const { numGroups, epsilon } = (attrs ?? {}) as { numGroups: number; epsilon?: number };
  const [N, S, C, G] = fusedGroupNormDims(FUSED_KERNELS.groupNorm, x, numGroups);
  fusedRequireFloat32(FUSED_KERNELS.groupNorm, beta ? { gamma, beta } : { gamma });
  fusedRequireChannelParams(FUSED_KERNELS.groupNorm, C, gamma, beta);
  const out = new Float32Array(N * S * C);
  backend.addon.groupNorm(backend.float32(x), backend.float32(gamma), beta ? backend.float32(beta) : null, out, Int32Array.of(N, S, C, G), epsilon ?? 1e-5);
  return backend.adopt([...x.shape], out);
}

function groupNormGrad({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] {
  const backend = b as NativeBackend;
  const { dy, x, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
  const { numGroups, epsilon } = (attrs ?? {}) as { numGroups: number; epsilon?: number };
  const [N, S, C, G] = fusedGroupNormDims(FUSED_KERNELS.groupNormGrad, x, numGroups);
  fusedRequireFloat32(FUSED_KERNELS.groupNormGrad, { dy, gamma });
  fusedRequireSameShape(FUSED_KERNELS.groupNormGrad, ['x', x], { dy });
  const dx = new Float32Array(N * S * C);
  const dgamma = new Float32Array(C);
  const dbeta = new Float32Array(C);
  backend.addon.groupNormGrad(backend.float32(dy), backend.float32(x), backend.float32(gamma), dx, dgamma, dbeta, Int32Array.of(N, S, C, G), epsilon ?? 1e-5);
  return [backend.adopt([...x.shape], dx), backend.adopt([C], dgamma), backend.adopt([C], dbeta)];
}

const k = (kernelName: string, f: (args: KernelArgs) => TensorInfo | TensorInfo[]): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: f as unknown as KernelFunc,
});

export const nativeTrainingKernels: KernelConfig[] = [
  k(FUSED_KERNELS.attention, attention),
  k(FUSED_KERNELS.attentionGrad, attentionGrad),
  k(FUSED_KERNELS.activation, activation),
  k(FUSED_KERNELS.activationGrad, activationGrad),
  k(FUSED_KERNELS.groupNorm, groupNorm),
  k(FUSED_KERNELS.groupNormGrad, groupNormGrad),
];
