import { InvalidArgumentError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { computeFans, defaultBias, defaultWeight, type Seed } from '../init.js';
import { Module, shapeError, type Parameter } from '../module.js';

/**
 * Spatial layout of activations. 'NHWC' (channels last, tfjs' native layout, the default) or
 * 'NCHW' (PyTorch's). Weights always use PyTorch's layout so state dicts map one to one.
 */
export type DataFormat = 'NHWC' | 'NCHW';
export type Pair = number | [number, number];
export type Padding2d = Pair | 'same' | 'valid';

export const pair = (v: Pair, what: string): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((n) => Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError(`${what}: expected a non-negative integer or a pair, got ${JSON.stringify(v)}`);
  return p;
};

export const toNHWC = (x: Tensor, f: DataFormat): Tensor => (f === 'NCHW' ? tf.transpose(x, [0, 2, 3, 1]) : x);
export const fromNHWC = (x: Tensor, f: DataFormat): Tensor => (f === 'NCHW' ? tf.transpose(x, [0, 3, 1, 2]) : x);

/** Inserts d−1 zeros between kernel taps along `axis` (tfjs has no gradient for dilated conv). */
function dilateAxis(k: Tensor, axis: number, d: number): Tensor {
  if (d === 1) return k;
  const n = k.shape[axis]!;
  const e = tf.expandDims(k, axis + 1);
  const zshape = [...e.shape];
  zshape[axis + 1] = d - 1;
  const joined = tf.concat([e, tf.zeros(zshape)], axis + 1);
  const shape = [...k.shape];
  shape[axis] = n * d;
  const begin = k.shape.map(() => 0);
  const size = [...k.shape];
  size[axis] = (n - 1) * d + 1;
  return tf.slice(tf.reshape(joined, shape), begin, size);
}

/** 2-D convolution of NHWC `x` with a PyTorch-layout weight [out, in/groups, kh, kw]. */
export function conv2dTorch(
  x: Tensor, weight: Tensor, bias: Tensor | null,
  o: { stride: [number, number]; padding: [number, number, number, number]; dilation: [number, number]; groups: number },
): Tensor {
  return tf.tidy(() => {
    const [pt, pb, pl, pr] = o.padding;
    const padded = pt + pb + pl + pr > 0;
    // Ungrouped convs take the padding explicitly (no pad/slice pair in the graph: much faster
    // backward on the cpu-based backends); the grouped paths pad first.
    const xp = padded && o.groups !== 1 ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]) : x;
    const explicit: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
    let k = tf.transpose(weight, [2, 3, 1, 0]); // [kh, kw, in/g, out]
    k = dilateAxis(dilateAxis(k, 0, o.dilation[0]), 1, o.dilation[1]);
    const inC = x.shape[3]!;
    const outC = weight.shape[0]!;
    let y: Tensor;
    if (o.groups === 1) {
      y = tf.conv2d(xp as tf.Tensor4D, k as tf.Tensor4D, o.stride, padded ? explicit : 'valid');
    } else if (o.groups === inC && weight.shape[1] === 1) {
      // Depthwise: output channel c·m+j reads input channel c, as in PyTorch.
      const mult = outC / inC;
      const dk = tf.reshape(k, [k.shape[0]!, k.shape[1]!, inC, mult]);
      y = tf.depthwiseConv2d(xp as tf.Tensor4D, dk as tf.Tensor4D, o.stride, 'valid');
    } else {
      const xs = tf.split(xp, o.groups, 3);
      const ks = tf.split(k, o.groups, 3);
      y = tf.concat(xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ks[i] as tf.Tensor4D, o.stride, 'valid')), 3);
    }
    return bias ? tf.add(y, bias) : y;
  });
}

/** Explicit [top, bottom, left, right] padding; 'same' follows PyTorch (stride 1, extra on the end). */
function resolvePadding(padding: Padding2d, kernel: [number, number], dilation: [number, number], stride: [number, number]): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new InvalidArgumentError(`padding 'same' needs stride 1 (as in PyTorch), got stride [${stride.join(', ')}]`);
    const th = dilation[0] * (kernel[0] - 1);
    const tw = dilation[1] * (kernel[1] - 1);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  const [ph, pw] = pair(padding, 'padding');
  return [ph, ph, pw, pw];
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Padding2d;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  dataFormat?: DataFormat;
  seed?: Seed;
}

/** torch.nn.Conv2d: `weight` [out, in/groups, kh, kw], `bias` [out]. Input NHWC by default. */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly dataFormat: DataFormat;
  private readonly pad: [number, number, number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    assertPositiveInt('Conv2d inChannels', inChannels);
    assertPositiveInt('Conv2d outChannels', outChannels);
    this.kernelSize = pair(kernelSize, 'Conv2d kernelSize');
    this.stride = pair(options.stride ?? 1, 'Conv2d stride');
    this.dilation = pair(options.dilation ?? 1, 'Conv2d dilation');
    this.groups = options.groups ?? 1;
    this.dataFormat = options.dataFormat ?? 'NHWC';
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new InvalidArgumentError(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    this.pad = resolvePadding(options.padding ?? 0, this.kernelSize, this.dilation, this.stride);
    const rng = rngFor(options.seed);
    const shape = [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.weight = this.registerParameter('weight', defaultWeight(shape, rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', defaultBias(outChannels, computeFans(shape).fanIn, rng));
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithWeight(x, this.weight);
  }

  /** The layer's computation with a substitute weight (used by weight reparameterisations such as SpectralNorm). */
  forwardWithWeight(x: Tensor, weight: Tensor): Tensor {
    const c = this.dataFormat === 'NHWC' ? 3 : 1;
    if (x.rank !== 4 || x.shape[c] !== this.inChannels) {
      shapeError('Conv2d', 'input', this.dataFormat === 'NHWC' ? `[N, H, W, ${this.inChannels}]` : `[N, ${this.inChannels}, H, W]`, x.shape);
    }
    return tf.tidy(() => {
      const y = conv2dTorch(toNHWC(x, this.dataFormat), weight, this.bias, { stride: this.stride, padding: this.pad, dilation: this.dilation, groups: this.groups });
      return fromNHWC(y, this.dataFormat);
    });
  }
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  bias?: boolean;
  /** 'NLC' (channels last, default) or 'NCL' (PyTorch). */
  dataFormat?: 'NLC' | 'NCL';
  seed?: Seed;
}

/** torch.nn.Conv1d: `weight` [out, in/groups, k]. Input [N, L, C] by default. */
export class Conv1d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly dataFormat: 'NLC' | 'NCL';
  private readonly opts: { stride: [number, number]; padding: [number, number, number, number]; dilation: [number, number]; groups: number };

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, options: Conv1dOptions = {}) {
    super();
    assertPositiveInt('Conv1d inChannels', inChannels);
    assertPositiveInt('Conv1d outChannels', outChannels);
    assertPositiveInt('Conv1d kernelSize', kernelSize);
    const groups = options.groups ?? 1;
    if (inChannels % groups || outChannels % groups) throw new InvalidArgumentError(`Conv1d: channels must be divisible by groups (${groups})`);
    const stride = options.stride ?? 1;
    const dilation = options.dilation ?? 1;
    const p = options.padding ?? 0;
    const full = resolvePadding(p === 'same' || p === 'valid' ? p : [0, p], [1, kernelSize], [1, dilation], [1, stride]);
    this.opts = { stride: [1, stride], dilation: [1, dilation], padding: [0, 0, full[2], full[3]], groups };
    this.dataFormat = options.dataFormat ?? 'NLC';
    const rng = rngFor(options.seed);
    const shape = [outChannels, inChannels / groups, kernelSize];
    this.weight = this.registerParameter('weight', defaultWeight(shape, rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', defaultBias(outChannels, computeFans(shape).fanIn, rng));
  }

  forward(x: Tensor): Tensor {
    const c = this.dataFormat === 'NLC' ? 2 : 1;
    if (x.rank !== 3 || x.shape[c] !== this.inChannels) {
      shapeError('Conv1d', 'input', this.dataFormat === 'NLC' ? `[N, L, ${this.inChannels}]` : `[N, ${this.inChannels}, L]`, x.shape);
    }
    return tf.tidy(() => {
      const nlc = this.dataFormat === 'NCL' ? tf.transpose(x, [0, 2, 1]) : x;
      const w = tf.expandDims(this.weight, 2); // [out, in/g, 1, k]
      const y = tf.squeeze(conv2dTorch(tf.expandDims(nlc, 1), w, this.bias, this.opts), [1]);
      return this.dataFormat === 'NCL' ? tf.transpose(y, [0, 2, 1]) : y;
    });
  }
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  /** Channel groups (in and out channels must divide by it); weight [in, out/groups, kh, kw]. */
  groups?: number;
  dilation?: Pair;
  bias?: boolean;
  dataFormat?: DataFormat;
  seed?: Seed;
}

/**
 * torch.nn.ConvTranspose2d: `weight` [in, out/groups, kh, kw]. Output size per axis:
 * (H − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1.
 */
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly dataFormat: DataFormat;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: ConvTranspose2dOptions = {}) {
    super();
    assertPositiveInt('ConvTranspose2d inChannels', inChannels);
    assertPositiveInt('ConvTranspose2d outChannels', outChannels);
    this.kernelSize = pair(kernelSize, 'ConvTranspose2d kernelSize');
    this.stride = pair(options.stride ?? 1, 'ConvTranspose2d stride');
    this.padding = pair(options.padding ?? 0, 'ConvTranspose2d padding');
    this.outputPadding = pair(options.outputPadding ?? 0, 'ConvTranspose2d outputPadding');
    this.dilation = pair(options.dilation ?? 1, 'ConvTranspose2d dilation');
    this.groups = options.groups ?? 1;
    assertPositiveInt('ConvTranspose2d groups', this.groups);
    if (inChannels % this.groups || outChannels % this.groups) throw new InvalidArgumentError(`ConvTranspose2d: in (${inChannels}) and out (${outChannels}) channels must be divisible by groups (${this.groups})`);
    // As PyTorch: output padding must be smaller than either stride or dilation.
    if ([0, 1].some((i) => this.outputPadding[i]! >= Math.max(this.stride[i]!, this.dilation[i]!))) {
      throw new InvalidArgumentError(`ConvTranspose2d: outputPadding must be smaller than stride or dilation, got outputPadding [${this.outputPadding.join(', ')}] with stride [${this.stride.join(', ')}] and dilation [${this.dilation.join(', ')}]`);
    }
    this.dataFormat = options.dataFormat ?? 'NHWC';
    const rng = rngFor(options.seed);
    const shape = [inChannels, outChannels / this.groups, ...this.kernelSize];
    this.weight = this.registerParameter('weight', defaultWeight(shape, rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', defaultBias(outChannels, computeFans(shape).fanIn, rng));
  }

  forward(x: Tensor): Tensor {
    const c = this.dataFormat === 'NHWC' ? 3 : 1;
    if (x.rank !== 4 || x.shape[c] !== this.inChannels) {
      shapeError('ConvTranspose2d', 'input', this.dataFormat === 'NHWC' ? `[N, H, W, ${this.inChannels}]` : `[N, ${this.inChannels}, H, W]`, x.shape);
    }
    return tf.tidy(() => {
      const xh = toNHWC(x, this.dataFormat) as tf.Tensor4D;
      const [n, h, w] = xh.shape;
      const [kh, kw] = this.kernelSize;
      const [sh, sw] = this.stride;
      const [dh, dw] = this.dilation;
      const fullH = (h - 1) * sh + (kh - 1) * dh + 1;
      const fullW = (w - 1) * sw + (kw - 1) * dw + 1;
      let filter: Tensor = tf.transpose(this.weight, [2, 3, 1, 0]); // [kh, kw, out/g, in]
      filter = dilateAxis(dilateAxis(filter, 0, dh), 1, dw);
      const g = this.groups;
      const og = this.outChannels / g;
      let y: Tensor = g === 1
        ? tf.conv2dTranspose(xh, filter as tf.Tensor4D, [n, fullH, fullW, og], this.stride, 'valid')
        : tf.concat(tf.split(xh, g, 3).map((xi, i) => tf.conv2dTranspose(xi as tf.Tensor4D, tf.split(filter, g, 3)[i] as tf.Tensor4D, [n, fullH, fullW, og], this.stride, 'valid')), 3);
      const [ph, pw] = this.padding;
      const [oh, ow] = this.outputPadding;
      const outH = fullH - 2 * ph + oh;
      const outW = fullW - 2 * pw + ow;
      // Crop `padding` from each side; outputPadding rows beyond the full output get no input.
      const takeH = Math.min(outH, fullH - ph);
      const takeW = Math.min(outW, fullW - pw);
      y = tf.slice(y, [0, ph, pw, 0], [n, takeH, takeW, this.outChannels]);
      if (takeH < outH || takeW < outW) y = tf.pad(y, [[0, 0], [0, outH - takeH], [0, outW - takeW], [0, 0]]);
      if (this.bias) y = tf.add(y, this.bias);
      return fromNHWC(y, this.dataFormat);
    });
  }
}
