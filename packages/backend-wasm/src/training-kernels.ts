import {
  FUSED_KERNELS, adamCoefficients, fusedActivationCode, fusedAttentionDims, fusedAttentionGradDims, fusedGroupNormDims,
  fusedRequireChannelParams, fusedRequireFloat32, fusedRequireSameShape, registerFusedKernelGradients, tf,
  type AdamAttrs, type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo,
} from '@nutshell/core';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/**
 * @nutshell/core's fused training kernels (causal attention, activations, LayerNorm and GroupNorm,
 * forward and backward, and the Adam update; contracts in core's fused-kernels.ts) on the wasm backend. tfjs-backend-wasm runs batched
 * matMuls — every per-head attention product — in a plain loop at ~2 GFLOP/s, and the composed
 * attention adds a split, six transposes, a mask and a softmax; here one call per direction runs
 * the whole attention in our own SIMD module (assembly/kernels.ts, AssemblyScript).
 *
 * The module has its own memory: inputs are copied in from tfjs's heap and outputs copied back
 * (a few MB per call against milliseconds of compute), which keeps the two modules independent.
 */
interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  causalAttention(qkv: number, y: number, lse: number, scratch: number, B: number, T: number, H: number, d: number, scale: number): void;
  causalAttentionGrad(dy: number, qkv: number, y: number, lse: number, dqkv: number, scratch: number, B: number, T: number, H: number, d: number, scale: number): void;
  activation(x: number, out: number, n: number, act: number): void;
  activationGrad(dy: number, x: number, dx: number, n: number, act: number): void;
  layerNorm(x: number, gamma: number, beta: number, out: number, rows: number, cols: number, eps: number): void;
  layerNormGrad(dy: number, x: number, gamma: number, dx: number, dgamma: number, dbeta: number, acc: number, rows: number, cols: number, eps: number): void;
  adam(p: number, g: number, m: number, v: number, po: number, mo: number, vo: number, n: number, ...coef: number[]): void;
  groupNorm(x: number, gamma: number, beta: number, out: number, stats: number, N: number, S: number, C: number, G: number, eps: number): void;
  groupNormGrad(dy: number, x: number, gamma: number, dx: number, dgamma: number, dbeta: number, acc: number, stats: number, N: number, S: number, C: number, G: number, eps: number): void;
}

interface WasmBackendLike {
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
}

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Buffers laid out one after another from the module's heap base, the memory grown to fit. */
class Arena {
  constructor(private readonly k: KernelExports) {}
  /** Byte offsets for float arrays of the given lengths (16-byte aligned for v128 loads). */
  layout(...lengths: number[]): number[] {
    let at = (this.k.heapBase() + 15) & ~15;
    const offsets = lengths.map((n) => {
      const o = at;
      at = (at + n * 4 + 15) & ~15;
      return o;
    });
    const need = at - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / 65536));
    return offsets;
  }
  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, offset, length);
  }
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function makeKernels(k: KernelExports): KernelConfig[] {
  const arena = new Arena(k);
  /** Copies tensors into the arena at `offsets` (after layout, whose growth detaches old views). */
  const copyIn = (backend: WasmBackendLike, pairs: [TensorInfo, number][]) => {
    for (const [t, offset] of pairs) arena.f32(offset, sizeOf(t.shape)).set(backend.typedArrayFromHeap(t));
  };
  const output = (backend: WasmBackendLike, shape: number[], offset: number) => backend.makeOutput(shape, 'float32', undefined, arena.f32(offset, sizeOf(shape)));

  const attention = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] => {
    const backend = b as WasmBackendLike;
    const { qkv } = inputs as { qkv: TensorInfo };
    const { numHeads, scale } = (attrs ?? {}) as { numHeads: number; scale: number };
    const [B, T, H, d] = fusedAttentionDims(FUSED_KERNELS.attention, qkv, numHeads);
    const [pq, py, pl, ps] = arena.layout(B * T * 3 * H * d, B * T * H * d, B * H * T, 3 * T * d + T) as [number, number, number, number];
    copyIn(backend, [[qkv, pq]]);
    if (B * T > 0) k.causalAttention(pq, py, pl, ps, B, T, H, d, scale);
    return [output(backend, [B, T, H * d], py), output(backend, [B, H, T], pl)];
  };

  const attentionGrad = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo => {
    const backend = b as WasmBackendLike;
    const { dy, qkv, y, lse } = inputs as { dy: TensorInfo; qkv: TensorInfo; y: TensorInfo; lse: TensorInfo };
    const { numHeads, scale } = (attrs ?? {}) as { numHeads: number; scale: number };
    const [B, T, H, d] = fusedAttentionGradDims(FUSED_KERNELS.attentionGrad, { dy, qkv, y, lse }, numHeads);
    const C = H * d;
    const [pdy, pq, py, pl, pd, ps] = arena.layout(B * T * C, B * T * 3 * C, B * T * C, B * H * T, B * T * 3 * C, 6 * T * d + 2 * T) as [number, number, number, number, number, number];
    copyIn(backend, [[dy, pdy], [qkv, pq], [y, py], [lse, pl]]);
    if (B * T > 0) k.causalAttentionGrad(pdy, pq, py, pl, pd, ps, B, T, H, d, scale);
    return output(backend, [...qkv.shape], pd);
  };

  const activation = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo => {
    const backend = b as WasmBackendLike;
    const { x } = inputs as { x: TensorInfo };
    fusedRequireFloat32(FUSED_KERNELS.activation, { x });
    const act = fusedActivationCode(FUSED_KERNELS.activation, attrs?.activation);
    const n = sizeOf(x.shape);
    const [px, po] = arena.layout(n, n) as [number, number];
    copyIn(backend, [[x, px]]);
    k.activation(px, po, n, act);
    return output(backend, [...x.shape], po);
  };

  const activationGrad = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo => {
    const backend = b as WasmBackendLike;
    const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
    fusedRequireFloat32(FUSED_KERNELS.activationGrad, { dy, x });
    fusedRequireSameShape(FUSED_KERNELS.activationGrad, ['x', x], { dy });
    const act = fusedActivationCode(FUSED_KERNELS.activationGrad, attrs?.activation);
    const n = sizeOf(x.shape);
    const [pdy, px, pdx] = arena.layout(n, n, n) as [number, number, number];
    copyIn(backend, [[dy, pdy], [x, px]]);
    k.activationGrad(pdy, px, pdx, n, act);
    return output(backend, [...x.shape], pdx);
  };

  const layerNorm = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo => {
    const backend = b as WasmBackendLike;
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta?: TensorInfo };
    fusedRequireFloat32(FUSED_KERNELS.layerNorm, beta ? { x, gamma, beta } : { x, gamma });
    const cols = x.shape[x.shape.length - 1] ?? 1;
    fusedRequireChannelParams(FUSED_KERNELS.layerNorm, cols, gamma, beta);
    const n = sizeOf(x.shape);
    const [px, pg, pb, po] = arena.layout(n, cols, beta ? cols : 0, n) as [number, number, number, number];
    copyIn(backend, beta ? [[x, px], [gamma, pg], [beta, pb]] : [[x, px], [gamma, pg]]);
    if (n > 0) k.layerNorm(px, pg, beta ? pb : 0, po, n / cols, cols, Number((attrs ?? {}).epsilon ?? 1e-5));
    return output(backend, [...x.shape], po);
  };

  const layerNormGrad = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] => {
    const backend = b as WasmBackendLike;
    const { dy, x, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
    fusedRequireFloat32(FUSED_KERNELS.layerNormGrad, { dy, x, gamma });
    fusedRequireSameShape(FUSED_KERNELS.layerNormGrad, ['x', x], { dy });
    const cols = x.shape[x.shape.length - 1] ?? 1;
    const n = sizeOf(x.shape);
    // acc: 2·cols doubles = 4·cols floats.
    const [pdy, px, pg, pdx, pdg, pdb, pacc] = arena.layout(n, n, cols, n, cols, cols, 4 * cols) as number[] as [number, number, number, number, number, number, number];
    copyIn(backend, [[dy, pdy], [x, px], [gamma, pg]]);
    if (n > 0) k.layerNormGrad(pdy, px, pg, pdx, pdg, pdb, pacc, n / cols, cols, Number((attrs ?? {}).epsilon ?? 1e-5));
    else arena.f32(pdg, 2 * cols).fill(0);
    return [output(backend, [...x.shape], pdx), output(backend, [cols], pdg), output(backend, [cols], pdb)];
  };

  const adam = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] => {
    const backend = b as WasmBackendLike;
    const { param, grad, m, v } = inputs as { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo };
    fusedRequireFloat32(FUSED_KERNELS.adam, { param, grad, m, v });
    fusedRequireSameShape(FUSED_KERNELS.adam, ['param', param], { grad, m, v });
    const coef = adamCoefficients(FUSED_KERNELS.adam, (attrs ?? {}) as unknown as AdamAttrs);
    const n = sizeOf(param.shape);
    const [pp, pg, pm, pv, ppo, pmo, pvo] = arena.layout(n, n, n, n, n, n, n) as [number, number, number, number, number, number, number];
    copyIn(backend, [[param, pp], [grad, pg], [m, pm], [v, pv]]);
    // Each coefficient rounded to float32 on the way in (wasm f32 parameters), as the contract says.
    k.adam(pp, pg, pm, pv, ppo, pmo, pvo, n, ...coef);
    return [ppo, pmo, pvo].map((o) => output(backend, [...param.shape], o));
  };

  const groupNorm = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo => {
    const backend = b as WasmBackendLike;
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta?: TensorInfo };
    const { numGroups, epsilon } = (attrs ?? {}) as { numGroups: number; epsilon?: number };
    const [N, S, C, G] = fusedGroupNormDims(FUSED_KERNELS.groupNorm, x, numGroups);
    fusedRequireFloat32(FUSED_KERNELS.groupNorm, beta ? { gamma, beta } : { gamma });
    fusedRequireChannelParams(FUSED_KERNELS.groupNorm, C, gamma, beta);
    const n = N * S * C;
    const [px, pg, pb, po, ps] = arena.layout(n, C, beta ? C : 0, n, 2) as [number, number, number, number, number];
    copyIn(backend, beta ? [[x, px], [gamma, pg], [beta, pb]] : [[x, px], [gamma, pg]]);
    k.groupNorm(px, pg, beta ? pb : 0, po, ps, N, S, C, G, epsilon ?? 1e-5);
    return output(backend, [...x.shape], po);
  };

  const groupNormGrad = ({ inputs, backend: b, attrs }: KernelArgs): TensorInfo[] => {
    const backend = b as WasmBackendLike;
    const { dy, x, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
    const { numGroups, epsilon } = (attrs ?? {}) as { numGroups: number; epsilon?: number };
    const [N, S, C, G] = fusedGroupNormDims(FUSED_KERNELS.groupNormGrad, x, numGroups);
    fusedRequireFloat32(FUSED_KERNELS.groupNormGrad, { dy, gamma });
    fusedRequireSameShape(FUSED_KERNELS.groupNormGrad, ['x', x], { dy });
    const n = N * S * C;
    // acc: 2·C doubles = 4·C floats; stats: one double.
    const [pdy, px, pg, pdx, pdg, pdb, pacc, ps] = arena.layout(n, n, C, n, C, C, 4 * C, 2) as number[] as [number, number, number, number, number, number, number, number];
    copyIn(backend, [[dy, pdy], [x, px], [gamma, pg]]);
    k.groupNormGrad(pdy, px, pg, pdx, pdg, pdb, pacc, ps, N, S, C, G, epsilon ?? 1e-5);
    return [output(backend, [...x.shape], pdx), output(backend, [C], pdg), output(backend, [C], pdb)];
  };

  const cfg = (kernelName: string, f: (args: KernelArgs) => TensorInfo | TensorInfo[]): KernelConfig => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: f as unknown as KernelFunc,
  });
  return [
    cfg(FUSED_KERNELS.attention, attention),
    cfg(FUSED_KERNELS.attentionGrad, attentionGrad),
    cfg(FUSED_KERNELS.activation, activation),
    cfg(FUSED_KERNELS.activationGrad, activationGrad),
    cfg(FUSED_KERNELS.layerNorm, layerNorm),
    cfg(FUSED_KERNELS.layerNormGrad, layerNormGrad),
    cfg(FUSED_KERNELS.adam, adam),
    cfg(FUSED_KERNELS.groupNorm, groupNorm),
    cfg(FUSED_KERNELS.groupNormGrad, groupNormGrad),
  ];
}

/** Names of the kernels this package adds to the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  FUSED_KERNELS.attention, FUSED_KERNELS.attentionGrad, FUSED_KERNELS.activation, FUSED_KERNELS.activationGrad,
  FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad, FUSED_KERNELS.groupNorm, FUSED_KERNELS.groupNormGrad, FUSED_KERNELS.adam,
];

let installing: Promise<void> | undefined;

/**
 * Instantiates the kernel module (asynchronously: browsers refuse to compile modules over 4 KB
 * synchronously on the main thread) and registers its kernels for 'wasm'. Idempotent.
 */
export function installTrainingKernels(): Promise<void> {
  return (installing ??= (async () => {
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64)), {});
    for (const config of makeKernels(instance.exports as unknown as KernelExports)) {
      if (!tf.getKernel(config.kernelName, 'wasm')) tf.registerKernel(config);
    }
    registerFusedKernelGradients();
  })());
}
