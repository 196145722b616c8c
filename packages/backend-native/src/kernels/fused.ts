import {
  util,
  type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import type { NativeBackend } from '../native_backend.js';

/**
 * Fused inference kernels (src-c/fused.c) under nutshell's own kernel names, for model code that
 * checks `getKernel(name, tf.getBackend())` and otherwise composes the same math from tfjs ops.
 * They serve decoding (generation with a KV cache); only the LayerNorm has a gradient (its own
 * backward kernel; @nutshell/core registers the gradient), so nn's LayerNorm uses it in training too.
 *
 * Contracts (inputs / attrs):
 * - `NutshellLayerNorm`: { x, gamma, beta? } / { epsilon } → LayerNorm over the last axis.
 * - `NutshellLayerNormGrad`: { dy, x, gamma } / { epsilon } → [dx, dgamma [C], dbeta [C]].
 * - `NutshellLinear`: { x [..., K], weight [K, N] (or [N, K] with transposeB), bias? [N], residual? [..., N] }
 *   / { transposeB?, activation?: 'linear' | 'relu' | 'gelu_new' | 'gelu' | 'silu' } → act(x·W + bias) + residual.
 * - `NutshellCachedAttention`: { qkv [B, T, 3·H·d], kCache, vCache [B, H, capacity, d] }
 *   / { numHeads, start, scale, rope?, ropeTheta? } → [B, T, H·d]. Writes the new keys and values
 *   into kCache / vCache IN PLACE (positions start..start+T−1): the caller must own those tensors
 *   exclusively (no clones or reshapes of them in use elsewhere).
 */
export const LAYER_NORM_KERNEL = 'NutshellLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'NutshellLayerNormGrad';
export const LINEAR_KERNEL = 'NutshellLinear';
export const CACHED_ATTENTION_KERNEL = 'NutshellCachedAttention';

/** Activation codes of src-c/fused.c (enum ACT_*). */
export const LINEAR_ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, gelu_new: 2, gelu: 3, silu: 4 };

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

function fail(kernel: string, message: string): never {
  throw new Error(`${kernel}: ${message}`);
}

function requireFloat32(kernel: string, name: string, t: TensorInfo | undefined): void {
  if (t && t.dtype !== 'float32') fail(kernel, `${name} must be float32, got ${t.dtype}`);
}

function layerNorm({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta?: TensorInfo };
  const { epsilon } = (attrs ?? {}) as { epsilon?: number };
  for (const [n, t] of [['x', x], ['gamma', gamma], ['beta', beta]] as const) requireFloat32(LAYER_NORM_KERNEL, n, t);
  // gamma is required so the gradient can save it (tfjs clones every saved input; none may be missing).
  if (!gamma) fail(LAYER_NORM_KERNEL, 'gamma is required (pass ones for a LayerNorm without weight)');
  const cols = x.shape[x.shape.length - 1] ?? 1;
  for (const [n, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && util.sizeFromShape(t.shape) !== cols) fail(LAYER_NORM_KERNEL, `${n} must have ${cols} values, got shape [${t.shape}]`);
  }
  const size = util.sizeFromShape(x.shape);
  const out = new Float32Array(size);
  if (size > 0) {
    backend.addon.layerNorm(
      backend.float32(x), gamma ? backend.float32(gamma) : null, beta ? backend.float32(beta) : null, out, size / cols, cols, epsilon ?? 1e-5,
    );
  }
  return backend.adopt([...x.shape], out);
}

function layerNormGrad({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] {
  const backend = b as NativeBackend;
  const { dy, x, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
  const { epsilon } = (attrs ?? {}) as { epsilon?: number };
  for (const [n, t] of [['dy', dy], ['x', x], ['gamma', gamma]] as const) requireFloat32(LAYER_NORM_GRAD_KERNEL, n, t);
  if (!util.arraysEqual(dy.shape, x.shape)) fail(LAYER_NORM_GRAD_KERNEL, `dy [${dy.shape}] and x [${x.shape}] differ`);
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const size = util.sizeFromShape(x.shape);
  const dx = new Float32Array(size);
  const dgamma = new Float32Array(cols);
  const dbeta = new Float32Array(cols);
  if (size > 0) {
    backend.addon.layerNormGrad(
      backend.float32(dy), backend.float32(x), gamma ? backend.float32(gamma) : null, dx, dgamma, dbeta, size / cols, cols, epsilon ?? 1e-5,
    );
  }
  return [backend.adopt([...x.shape], dx), backend.adopt([cols], dgamma), backend.adopt([cols], dbeta)];
}

function linear({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { x, weight, bias, residual } = inputs as { x: TensorInfo; weight: TensorInfo; bias?: TensorInfo; residual?: TensorInfo };
  const { transposeB, activation } = (attrs ?? {}) as { transposeB?: boolean; activation?: string };
  for (const [n, t] of [['x', x], ['weight', weight], ['bias', bias], ['residual', residual]] as const) requireFloat32(LINEAR_KERNEL, n, t);
  const act = LINEAR_ACTIVATIONS[activation ?? 'linear'];
  if (act === undefined) fail(LINEAR_KERNEL, `unknown activation '${activation}'`);
  if (weight.shape.length !== 2) fail(LINEAR_KERNEL, `weight must be 2-D, got [${weight.shape}]`);
  const K = x.shape[x.shape.length - 1]!;
  const [w0, w1] = weight.shape as [number, number];
  const [wk, N] = transposeB ? [w1, w0] : [w0, w1];
  if (wk !== K) fail(LINEAR_KERNEL, `x [${x.shape}] and weight [${weight.shape}] (transposeB=${!!transposeB}) do not multiply`);
  if (bias && util.sizeFromShape(bias.shape) !== N) fail(LINEAR_KERNEL, `bias must have ${N} values, got [${bias.shape}]`);
  const outShape = [...x.shape.slice(0, -1), N];
  if (residual && !util.arraysEqual(residual.shape, outShape)) fail(LINEAR_KERNEL, `residual must be [${outShape}], got [${residual.shape}]`);
  const M = util.sizeFromShape(x.shape.slice(0, -1));
  const out = new Float32Array(M * N);
  backend.addon.linear(
    backend.float32(x), backend.float32(weight), bias ? backend.float32(bias) : null, residual ? backend.float32(residual) : null,
    out, M, N, K, !!transposeB, act,
  );
  return backend.adopt(outShape, out);
}

/** The storage of a cache tensor, written in place (a copy would silently drop the writes). */
function mutableFloat32(backend: NativeBackend, t: TensorInfo, name: string): Float32Array {
  const values = backend.data.get(t.dataId)?.values;
  if (t.dtype !== 'float32' || !(values instanceof Float32Array)) fail(CACHED_ATTENTION_KERNEL, `${name} must be a float32 tensor of this backend`);
  return values;
}

function cachedAttention({ inputs, backend: b, attrs }: KernelArgs): TensorInfo {
  const backend = b as NativeBackend;
  const { qkv, kCache, vCache } = inputs as { qkv: TensorInfo; kCache: TensorInfo; vCache: TensorInfo };
  const { numHeads, start, scale, rope, ropeTheta } = (attrs ?? {}) as {
    numHeads: number; start: number; scale?: number; rope?: boolean; ropeTheta?: number;
  };
  requireFloat32(CACHED_ATTENTION_KERNEL, 'qkv', qkv);
  if (qkv.shape.length !== 3 || kCache.shape.length !== 4) fail(CACHED_ATTENTION_KERNEL, `expected qkv [B, T, 3C] and caches [B, H, capacity, d], got [${qkv.shape}] and [${kCache.shape}]`);
  const [B, T, C3] = qkv.shape as [number, number, number];
  const [cb, H, cap, d] = kCache.shape as [number, number, number, number];
  if (!util.arraysEqual(kCache.shape, vCache.shape)) fail(CACHED_ATTENTION_KERNEL, `kCache [${kCache.shape}] and vCache [${vCache.shape}] differ`);
  if (cb !== B || H !== numHeads || C3 !== 3 * H * d) fail(CACHED_ATTENTION_KERNEL, `qkv [${qkv.shape}] does not match caches [${kCache.shape}] with ${numHeads} heads`);
  if (!Number.isInteger(start) || start < 0 || start + T > cap) fail(CACHED_ATTENTION_KERNEL, `positions ${start}..${start + T - 1} do not fit a cache of ${cap}`);
  const out = new Float32Array(B * T * H * d);
  backend.addon.cachedAttention(
    backend.float32(qkv), mutableFloat32(backend, kCache, 'kCache'), mutableFloat32(backend, vCache, 'vCache'), out,
    Int32Array.of(B, T, H, d, cap, start, rope ? 1 : 0), scale ?? 1 / Math.sqrt(d), ropeTheta ?? 10000,
  );
  return backend.adopt([B, T, H * d], out);
}

const k = (kernelName: string, f: (args: KernelArgs) => TensorInfo): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: f as unknown as KernelFunc,
});

export const nativeFusedKernels: KernelConfig[] = [
  k(LAYER_NORM_KERNEL, layerNorm),
  { kernelName: LAYER_NORM_GRAD_KERNEL, backendName: 'native', kernelFunc: layerNormGrad as unknown as KernelFunc },
  k(LINEAR_KERNEL, linear),
  k(CACHED_ATTENTION_KERNEL, cachedAttention),
];
