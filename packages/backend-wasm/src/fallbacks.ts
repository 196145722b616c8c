import { tf } from '@nutshell/core';

/**
 * Kernels tfjs-backend-wasm 4.22 lacks or gets wrong, run by tfjs's cpu kernels on copies of the
 * data. Without them training on wasm fails: conv2d's filter gradient and gather's gradient
 * (UnsortedSegmentSum) are missing; MaxPoolGrad drops contributions where pooling windows overlap
 * (3×3 stride 2 'same') and GatherV2 with batchDims > 0 picks wrong rows — both found by
 * tools/parity. The fallbacks are slower than wasm kernels but correct, and GatherV2 only falls
 * back when batchDims > 0.
 */
const FALLBACKS: { kernelName: string; when?: (attrs: Record<string, unknown>) => boolean }[] = [
  { kernelName: 'Conv2DBackpropFilter' },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter' },
  { kernelName: 'DepthwiseConv2dNativeBackpropInput' },
  { kernelName: 'UnsortedSegmentSum' },
  { kernelName: 'MaxPoolGrad' },
  { kernelName: 'GatherV2', when: (attrs) => Number(attrs.batchDims ?? 0) > 0 },
];

export const CPU_FALLBACK_KERNELS: readonly string[] = FALLBACKS.map((f) => f.kernelName);

type Info = { dataId: object; shape: number[]; dtype: tf.DataType };
interface DataBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): Info;
  disposeData(dataId: object, force?: boolean): boolean;
}
interface WasmBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): Info;
}

let installed = false;

export function installCpuFallbacks(makeCpuBackend: () => DataBackend): void {
  if (installed) return;
  installed = true;
  let cpu: DataBackend | undefined;
  for (const { kernelName, when } of FALLBACKS) {
    const cpuKernel = tf.getKernel(kernelName, 'cpu');
    if (!cpuKernel) continue;
    const own = tf.getKernel(kernelName, 'wasm');
    if (own) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      setupFunc: own?.setupFunc,
      disposeFunc: own?.disposeFunc,
      kernelFunc: (args) => {
        const { inputs, attrs, backend } = args;
        if (own && when && !when(attrs as Record<string, unknown>)) return own.kernelFunc(args);
        cpu ??= makeCpuBackend();
        const wasm = backend as unknown as WasmBackendLike;
        const copies: Record<string, Info> = {};
        try {
          for (const [name, t] of Object.entries(inputs)) {
            const info = t as unknown as Info;
            copies[name] = cpu.makeTensorInfo(info.shape, info.dtype, (wasm.readSync(info.dataId) as Float32Array).slice());
          }
          const out = cpuKernel.kernelFunc({ inputs: copies as never, attrs, backend: cpu as never });
          const outs = (Array.isArray(out) ? out : [out]) as unknown as Info[];
          const results = outs.map((o) => {
            const values = cpu!.readSync(o.dataId);
            cpu!.disposeData(o.dataId, true);
            return wasm.makeOutput(o.shape, o.dtype, undefined, values);
          });
          return (Array.isArray(out) ? results : results[0]) as never;
        } finally {
          for (const c of Object.values(copies)) cpu.disposeData(c.dataId, true);
        }
      },
    });
  }
}
