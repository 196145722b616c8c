import {
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  backend_util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@nutshell/core';
import { runCpuKernel } from '../cpu_kernels.js';
import { applyEpilogue, type Activation } from '../epilogue.js';
import type { NativeBackend } from '../native_backend.js';

type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: RoundingMode;
}

/** The addon's conv parameter block (see src-c/addon.c get_conv_params). */
function convParams(info: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

/** Only NHWC float32 runs natively; NCHW and other dtypes go to the cpu kernel. */
function handled(dataFormat: string | undefined, ...tensors: TensorInfo[]): boolean {
  return (dataFormat ?? 'NHWC') === 'NHWC' && tensors.every((t) => t.dtype === 'float32');
}

/** Forward conv2d; null when not handled. */
function nativeConv2D(backend: NativeBackend, x: TensorInfo, filter: TensorInfo, attrs: ConvAttrs): TensorInfo | null {
  if (!handled(attrs.dataFormat, x, filter) || x.shape.length !== 4) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const out = new Float32Array(info.outShape.reduce((p, s) => p * s, 1));
  backend.addon.conv2d(backend.float32(x), backend.float32(filter), out, convParams(info));
  return backend.adopt(info.outShape, out);
}

function conv2D(args: KernelArgs): TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  return nativeConv2D(backend, x, filter, args.attrs as unknown as ConvAttrs) ?? runCpuKernel(Conv2D, backend, args.inputs, args.attrs);
}

function fusedConv2D(args: KernelArgs): TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as ConvAttrs & { activation?: Activation; leakyreluAlpha?: number };
  const conv = nativeConv2D(backend, x!, filter!, attrs);
  if (!conv) return runCpuKernel(FusedConv2D, backend, args.inputs, args.attrs);
  return applyEpilogue(backend, conv, {
    bias,
    activation: attrs.activation,
    preluActivationWeights,
    leakyreluAlpha: attrs.leakyreluAlpha,
  });
}

function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const backend = args.backend as NativeBackend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  if (!handled(attrs.dataFormat, dy, filter)) return runCpuKernel(Conv2DBackpropInput, backend, args.inputs, args.attrs);
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const dx = new Float32Array(info.inShape.reduce((p, s) => p * s, 1));
  backend.addon.conv2dBackpropInput(backend.float32(dy), backend.float32(filter), dx, convParams(info));
  return backend.adopt(info.inShape, dx);
}

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (!handled(attrs.dataFormat, x, dy)) return runCpuKernel(Conv2DBackpropFilter, backend, args.inputs, args.attrs);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const dw = new Float32Array(info.filterShape.reduce((p, s) => p * s, 1));
  backend.addon.conv2dBackpropFilter(backend.float32(x), backend.float32(dy), dw, convParams(info));
  return backend.adopt(info.filterShape, dw);
}

const kernel = (kernelName: string, fn: (args: KernelArgs) => TensorInfo): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: fn as unknown as KernelFunc,
});

export const nativeConvKernels: KernelConfig[] = [
  kernel(Conv2D, conv2D),
  kernel(FusedConv2D, fusedConv2D),
  kernel(Conv2DBackpropInput, conv2DBackpropInput),
  kernel(Conv2DBackpropFilter, conv2DBackpropFilter),
];
