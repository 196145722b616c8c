import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Module, shapeError } from '../module.js';
import { fromNHWC, pair, toNHWC, type DataFormat, type Pair } from './conv.js';

export interface Pool2dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: Pair;
  padding?: Pair;
  dataFormat?: DataFormat;
  /** AvgPool2d only: count padded zeros in the average (PyTorch's default true). */
  countIncludePad?: boolean;
}

function check4d(name: string, x: Tensor): void {
  if (x.rank !== 4) shapeError(name, 'input', 'rank 4 [N, H, W, C] or [N, C, H, W]', x.shape);
}

abstract class Pool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dataFormat: DataFormat;
  constructor(name: string, kernelSize: Pair, options: Pool2dOptions) {
    super();
    this.kernelSize = pair(kernelSize, `${name} kernelSize`);
    this.stride = pair(options.stride ?? kernelSize, `${name} stride`);
    this.padding = pair(options.padding ?? 0, `${name} padding`);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new InvalidArgumentError(`${name}: padding must be at most half the kernel size, got padding [${this.padding.join(', ')}] for kernel [${this.kernelSize.join(', ')}]`);
    }
    this.dataFormat = options.dataFormat ?? 'NHWC';
  }
}

/** torch.nn.MaxPool2d (padding counts as −∞). */
export class MaxPool2d extends Pool2d {
  constructor(kernelSize: Pair, options: Pool2dOptions = {}) {
    super('MaxPool2d', kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    check4d('MaxPool2d', x);
    return tf.tidy(() => {
      let h = toNHWC(x, this.dataFormat);
      const [ph, pw] = this.padding;
      if (ph || pw) h = tf.pad(h, [[0, 0], [ph, ph], [pw, pw], [0, 0]], -3.4e38);
      return fromNHWC(tf.maxPool(h as tf.Tensor4D, this.kernelSize, this.stride, 'valid'), this.dataFormat);
    });
  }
}

/** torch.nn.AvgPool2d; with padding, zeros count in the average unless countIncludePad is false. */
export class AvgPool2d extends Pool2d {
  readonly countIncludePad: boolean;
  constructor(kernelSize: Pair, options: Pool2dOptions = {}) {
    super('AvgPool2d', kernelSize, options);
    this.countIncludePad = options.countIncludePad ?? true;
  }
  forward(x: Tensor): Tensor {
    check4d('AvgPool2d', x);
    return tf.tidy(() => {
      let h = toNHWC(x, this.dataFormat);
      const [ph, pw] = this.padding;
      if (!ph && !pw) return fromNHWC(tf.avgPool(h as tf.Tensor4D, this.kernelSize, this.stride, 'valid'), this.dataFormat);
      const pads: [number, number][] = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      h = tf.pad(h, pads);
      let y = tf.avgPool(h as tf.Tensor4D, this.kernelSize, this.stride, 'valid') as Tensor;
      if (!this.countIncludePad) {
        const ones = tf.pad(tf.ones([1, x.shape[this.dataFormat === 'NHWC' ? 1 : 2]!, x.shape[this.dataFormat === 'NHWC' ? 2 : 3]!, 1]), pads);
        y = tf.div(y, tf.avgPool(ones as tf.Tensor4D, this.kernelSize, this.stride, 'valid'));
      }
      return fromNHWC(y, this.dataFormat);
    });
  }
}

/** PyTorch's adaptive bins: [floor(i·n/out), ceil((i+1)·n/out)). */
function bins(n: number, out: number): [number, number][] {
  return Array.from({ length: out }, (_, i) => [Math.floor((i * n) / out), Math.ceil(((i + 1) * n) / out)]);
}

/** torch.nn.AdaptiveAvgPool2d: average over PyTorch's bins to a fixed output size. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(outputSize: Pair, readonly options: { dataFormat?: DataFormat } = {}) {
    super();
    this.outputSize = pair(outputSize, 'AdaptiveAvgPool2d outputSize');
  }
  forward(x: Tensor): Tensor {
    check4d('AdaptiveAvgPool2d', x);
    const f = this.options.dataFormat ?? 'NHWC';
    return tf.tidy(() => {
      const h = toNHWC(x, f);
      const [, H, W] = h.shape as number[];
      const [oh, ow] = this.outputSize;
      let y: Tensor;
      if (H! % oh === 0 && W! % ow === 0) {
        y = tf.avgPool(h as tf.Tensor4D, [H! / oh, W! / ow], [H! / oh, W! / ow], 'valid');
      } else {
        const rows = bins(H!, oh).map(([r0, r1]) => {
          const band = tf.slice(h, [0, r0, 0, 0], [-1, r1 - r0, -1, -1]);
          const cols = bins(W!, ow).map(([c0, c1]) => tf.mean(tf.slice(band, [0, 0, c0, 0], [-1, -1, c1 - c0, -1]), [1, 2]));
          return tf.stack(cols, 1);
        });
        y = tf.stack(rows, 1);
      }
      return fromNHWC(y, f);
    });
  }
}

/**
 * Row-interpolation matrix [out, in] with PyTorch's source-index rules. `scale` is 1/scaleFactor
 * when a factor was given (PyTorch uses it as is), else in/out.
 */
export function interpolationMatrix(inSize: number, outSize: number, mode: 'nearest' | 'bilinear', alignCorners: boolean, scale: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      m[o * inSize + Math.min(Math.floor(o * scale), inSize - 1)] = 1;
      continue;
    }
    const src = alignCorners ? (outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0) : Math.max(0, (o + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l = src - i0;
    m[o * inSize + i0]! += 1 - l;
    m[o * inSize + i1]! += l;
  }
  return m;
}

/**
 * torch.nn.Upsample / F.interpolate: 'nearest' (PyTorch's legacy floor rule) or 'bilinear'
 * (alignCorners false by default). Implemented as two small matrix products, whose gradients
 * are exact (tfjs' resize gradients are wrong for non-square images).
 */
export class Upsample extends Module {
  constructor(readonly options: { scaleFactor?: number; size?: [number, number]; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean; dataFormat?: DataFormat }) {
    super();
    if (!options.scaleFactor === !options.size) throw new InvalidArgumentError('Upsample: give exactly one of scaleFactor and size');
    if (options.alignCorners && (options.mode ?? 'nearest') === 'nearest') throw new InvalidArgumentError("Upsample: alignCorners applies to mode 'bilinear' only");
  }
  forward(x: Tensor): Tensor {
    check4d('Upsample', x);
    const f = this.options.dataFormat ?? 'NHWC';
    const mode = this.options.mode ?? 'nearest';
    const align = this.options.alignCorners ?? false;
    return tf.tidy(() => {
      const h = toNHWC(x, f);
      const [n, H, W, C] = h.shape as [number, number, number, number];
      const sf = this.options.scaleFactor;
      const [oh, ow] = this.options.size ?? [Math.floor(H * sf!), Math.floor(W * sf!)];
      const mh = tf.tensor2d(interpolationMatrix(H, oh, mode, align, sf ? 1 / sf : H / oh), [oh, H]);
      const mw = tf.tensor2d(interpolationMatrix(W, ow, mode, align, sf ? 1 / sf : W / ow), [ow, W]);
      // rows: [H, N·W·C] → [oh, N·W·C]; then columns the same way.
      const rows = tf.matMul(mh, tf.reshape(tf.transpose(h, [1, 0, 2, 3]), [H, n * W * C]));
      const r4 = tf.transpose(tf.reshape(rows, [oh, n, W, C]), [2, 1, 0, 3]); // [W, N, oh, C]
      const cols = tf.matMul(mw, tf.reshape(r4, [W, n * oh * C]));
      const y = tf.transpose(tf.reshape(cols, [ow, n, oh, C]), [1, 2, 0, 3]);
      return fromNHWC(y, f);
    });
  }
}
