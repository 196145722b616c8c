import {
  BatchMatMul,
  _FusedMatMul,
  broadcast_util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@nutshell/core';
import { batchMap, product } from '../broadcast.js';
import { runCpuKernel } from '../cpu_kernels.js';
import { applyEpilogue, type Activation } from '../epilogue.js';
import type { NativeBackend } from '../native_backend.js';

/**
 * a × b with tfjs BatchMatMul semantics (rank ≥ 2, transposes, broadcast batch dims) through
 * cblas_sgemm. Returns null for what it does not handle (non-float32), so the caller falls back.
 */
export function nativeMatMul(
  backend: NativeBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const kA = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  if (kA !== kB) {
    throw new Error(
      `Error in matMul: inner shapes (${kA}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and ` +
        `transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchShapeOut = broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  const batchA = product(batchShapeA);
  const batchB = product(batchShapeB);
  const batchOut = product(batchShapeOut);
  const out = new Float32Array(batchOut * m * n);
  if (out.length > 0) {
    backend.addon.matmul(
      backend.float32(a),
      backend.float32(b),
      out,
      batchA,
      batchB,
      batchOut,
      m,
      n,
      kA,
      transposeA,
      transposeB,
      batchMap(batchShapeA, batchShapeOut),
      batchMap(batchShapeB, batchShapeOut),
    );
  }
  return backend.adopt([...batchShapeOut, m, n], out);
}

function batchMatMul(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  return (
    nativeMatMul(backend, a!, b!, !!transposeA, !!transposeB) ??
    runCpuKernel(BatchMatMul, backend, args.inputs, args.attrs)
  );
}

function fusedMatMul(args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }): TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const { transposeA, transposeB, activation, leakyreluAlpha } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
    activation?: Activation;
    leakyreluAlpha?: number;
  };
  const product = nativeMatMul(backend, a!, b!, !!transposeA, !!transposeB);
  if (!product) return runCpuKernel(_FusedMatMul, backend, args.inputs, args.attrs);
  return applyEpilogue(backend, product, { bias, activation, preluActivationWeights, leakyreluAlpha });
}

export const nativeMatMulKernels: KernelConfig[] = [
  { kernelName: BatchMatMul, backendName: 'native', kernelFunc: batchMatMul as unknown as KernelFunc },
  { kernelName: _FusedMatMul, backendName: 'native', kernelFunc: fusedMatMul as unknown as KernelFunc },
];
