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
  /** Round the output size up (PyTorch's ceil_mode): a last, partial window is kept if it starts inside the input or left padding. */
  ceilMode?: boolean;
}

/** Extra end padding that ceil mode needs on one axis (0 without ceil mode). */
export function ceilExtra(n: number, k: number, s: number, p: number, ceil: boolean): number {
  if (!ceil) return 0;
  const floorOut = Math.floor((n + 2 * p - k) / s) + 1;
  let out = Math.ceil((n + 2 * p - k) / s) + 1;
  if ((out - 1) * s >= n + p) out--;
  return out > floorOut ? (out - 1) * s + k - (n + 2 * p) : 0;
}

function check4d(name: string, x: Tensor): void {
  if (x.rank !== 4) shapeError(name, 'input', 'rank 4 [N, H, W, C] or [N, C, H, W]', x.shape);
}

abstract class Pool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dataFormat: DataFormat;
  readonly ceilMode: boolean;
  constructor(name: string, kernelSize: Pair, options: Pool2dOptions) {
    super();
    this.kernelSize = pair(kernelSize, `${name} kernelSize`);
    this.stride = pair(options.stride ?? kernelSize, `${name} stride`);
    this.padding = pair(options.padding ?? 0, `${name} padding`);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new InvalidArgumentError(`${name}: padding must be at most half the kernel size, got padding [${this.padding.join(', ')}] for kernel [${this.kernelSize.join(', ')}]`);
    }
    this.dataFormat = options.dataFormat ?? 'NHWC';
    this.ceilMode = options.ceilMode ?? false;
  }
  /** [[top, bottom], [left, right]] padding of an NHWC input, including ceil mode's extra end rows / columns. */
  protected pads(h: Tensor): [[number, number], [number, number]] {
    const [ph, pw] = this.padding;
    const eh = ceilExtra(h.shape[1]!, this.kernelSize[0], this.stride[0], ph, this.ceilMode);
    const ew = ceilExtra(h.shape[2]!, this.kernelSize[1], this.stride[1], pw, this.ceilMode);
    return [[ph, ph + eh], [pw, pw + ew]];
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
      const [py, px] = this.pads(h);
      if (py[0] || py[1] || px[0] || px[1]) h = tf.pad(h, [[0, 0], py, px, [0, 0]], -3.4e38);
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
      const [py, px] = this.pads(h);
      if (!py[0] && !py[1] && !px[0] && !px[1]) return fromNHWC(tf.avgPool(h as tf.Tensor4D, this.kernelSize, this.stride, 'valid'), this.dataFormat);
      h = tf.pad(h, [[0, 0], py, px, [0, 0]]);
      let y = tf.avgPool(h as tf.Tensor4D, this.kernelSize, this.stride, 'valid') as Tensor;
      // Divide by the window's count as PyTorch does: padded zeros count only with countIncludePad,
      // and ceil mode's extra end cells never count.
      const [H, W] = [x.shape[this.dataFormat === 'NHWC' ? 1 : 2]!, x.shape[this.dataFormat === 'NHWC' ? 2 : 3]!];
      const extraH = py[1] - ph;
      const extraW = px[1] - pw;
      if (!this.countIncludePad || extraH || extraW) {
        const ones = this.countIncludePad
          ? tf.pad(tf.ones([1, H + 2 * ph, W + 2 * pw, 1]), [[0, 0], [0, extraH], [0, extraW], [0, 0]])
          : tf.pad(tf.ones([1, H, W, 1]), [[0, 0], py, px, [0, 0]]);
        y = tf.div(y, tf.avgPool(ones as tf.Tensor4D, this.kernelSize, this.stride, 'valid'));
      }
      return fromNHWC(y, this.dataFormat);
    });
  }
}

export interface Pool1dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: number;
  padding?: number;
  /** 'NLC' (channels last, default) or 'NCL' (PyTorch). */
  dataFormat?: 'NLC' | 'NCL';
  countIncludePad?: boolean;
  ceilMode?: boolean;
}

/** Runs a 2-D pool over [N, 1, L, C]. */
function pool1d(name: string, pool: Pool2d, x: Tensor, format: 'NLC' | 'NCL'): Tensor {
  if (x.rank !== 3) shapeError(name, 'input', format === 'NLC' ? '[N, L, C]' : '[N, C, L]', x.shape);
  return tf.tidy(() => {
    const nlc = format === 'NCL' ? tf.transpose(x, [0, 2, 1]) : x;
    const y = tf.squeeze(pool.forward(tf.expandDims(nlc, 1)), [1]);
    return format === 'NCL' ? tf.transpose(y, [0, 2, 1]) : y;
  });
}

/** torch.nn.MaxPool1d (padding counts as −∞; ceil mode). Input [N, L, C] by default. */
export class MaxPool1d extends Module {
  private readonly pool: MaxPool2d;
  readonly dataFormat: 'NLC' | 'NCL';
  constructor(readonly kernelSize: number, options: Pool1dOptions = {}) {
    super();
    this.dataFormat = options.dataFormat ?? 'NLC';
    this.pool = new MaxPool2d([1, kernelSize], { stride: [1, options.stride ?? kernelSize], padding: [0, options.padding ?? 0], ceilMode: options.ceilMode });
  }
  forward(x: Tensor): Tensor {
    return pool1d('MaxPool1d', this.pool, x, this.dataFormat);
  }
}

/** torch.nn.AvgPool1d (countIncludePad, ceil mode). Input [N, L, C] by default. */
export class AvgPool1d extends Module {
  private readonly pool: AvgPool2d;
  readonly dataFormat: 'NLC' | 'NCL';
  constructor(readonly kernelSize: number, options: Pool1dOptions = {}) {
    super();
    this.dataFormat = options.dataFormat ?? 'NLC';
    this.pool = new AvgPool2d([1, kernelSize], { stride: [1, options.stride ?? kernelSize], padding: [0, options.padding ?? 0], ceilMode: options.ceilMode, countIncludePad: options.countIncludePad });
  }
  forward(x: Tensor): Tensor {
    return pool1d('AvgPool1d', this.pool, x, this.dataFormat);
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
