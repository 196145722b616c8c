import { tf, type Tensor } from '@nutshell/core';
import { Conv2d } from '@nutshell/nn';
import { ghostIsCheaper, perExampleWeights, type GradSampler } from './types.js';
import { convOutputSize, unfoldNHWC, type UnfoldGeometry } from './unfold.js';

/**
 * The layer's resolved [top, bottom, left, right] padding. nn keeps it in a private field (the
 * constructor resolves 'same'/'valid'/pairs into it); null when it is not there as expected.
 */
function paddingOf(l: Conv2d): [number, number, number, number] | null {
  const p = (l as unknown as { pad?: unknown }).pad;
  return Array.isArray(p) && p.length === 4 && p.every((v) => Number.isInteger(v) && v >= 0) ? (p as [number, number, number, number]) : null;
}

function geometry(l: Conv2d): UnfoldGeometry | null {
  const padding = paddingOf(l);
  return padding && { kernel: l.kernelSize, stride: l.stride, dilation: l.dilation, padding };
}

const toNHWC = (l: Conv2d, x: Tensor) => (l.dataFormat === 'NCHW' ? tf.transpose(x, [0, 2, 3, 1]) : x);

/**
 * Patches and backprops per group: P [B, G, L, (C/G)·kh·kw] and Gr [B, G, L, out/G]. Channels of a
 * group are contiguous and outputs are group-major, as in PyTorch (and nn's depthwise path).
 */
function grouped(l: Conv2d, input: Tensor, backprop: Tensor, B: number): { P: Tensor; Gr: Tensor; L: number; G: number } {
  const geo = geometry(l)!;
  const G = l.groups, Co = l.outChannels;
  const u = unfoldNHWC(toNHWC(l, input), geo); // [B, L, C, kh·kw]
  const L = u.shape[1]!;
  const K = (l.inChannels / G) * geo.kernel[0] * geo.kernel[1];
  const g = tf.reshape(toNHWC(l, backprop), [B, L, Co]);
  if (G === 1) return { P: tf.reshape(u, [B, 1, L, K]), Gr: tf.reshape(g, [B, 1, L, Co]), L, G };
  return {
    P: tf.transpose(tf.reshape(u, [B, L, G, K]), [0, 2, 1, 3]),
    Gr: tf.transpose(tf.reshape(g, [B, L, G, Co / G]), [0, 2, 1, 3]),
    L, G,
  };
}

/**
 * Conv2d (stride, padding, dilation, groups, NHWC or NCHW), as Opacus' conv grad sampler: unfold
 * the input into patches (im2col); example b's weight gradient is Σ over output positions of
 * outer(backprop, patch), its bias gradient Σ backprop.
 */
export const conv2dSampler: GradSampler<Conv2d> = {
  name: 'Conv2d',
  matches: (m): m is Conv2d => m instanceof Conv2d,
  parameters: (l) => (l.bias ? [l.weight, l.bias] : [l.weight]),
  accepts(l, inShape, outShape, B) {
    const geo = geometry(l);
    if (!geo || inShape.length !== 4 || inShape[0] !== B || outShape[0] !== B) return false;
    const [H, W] = l.dataFormat === 'NCHW' ? [inShape[2]!, inShape[3]!] : [inShape[1]!, inShape[2]!];
    const [Ho, Wo] = convOutputSize(H, W, geo);
    const out = l.dataFormat === 'NCHW' ? [B, l.outChannels, Ho, Wo] : [B, Ho, Wo, l.outChannels];
    return out.every((d, i) => d === outShape[i]);
  },
  perSample(l, input, backprop, B) {
    const { P, Gr } = grouped(l, input, backprop, B);
    const w = tf.reshape(tf.matMul(Gr, P, true, false), [B, ...l.weight.shape]); // [B, G, out/G, K]
    return l.bias ? [w, tf.sum(tf.reshape(toNHWC(l, backprop), [B, -1, l.outChannels]), 1)] : [w];
  },
  ghostNormSq(l, input, backprop, B) {
    const L = backprop.size / (B * l.outChannels), G = l.groups;
    if (!ghostIsCheaper(L, l.weight.size / l.outChannels, l.outChannels / G)) return null;
    const { P, Gr } = grouped(l, input, backprop, B);
    const w = tf.sum(tf.mul(tf.matMul(Gr, Gr, false, true), tf.matMul(P, P, false, true)), [1, 2, 3]);
    return l.bias ? tf.add(w, tf.sum(tf.square(tf.sum(Gr, 2)), [1, 2])) : w;
  },
  weightedSum(l, input, backprop, wts) {
    const B = wts.shape[0]!;
    const { P, Gr, L, G } = grouped(l, input, backprop, B);
    const gw = tf.mul(Gr, perExampleWeights(wts, 4));
    const K = P.shape[3]!, Cg = l.outChannels / G;
    // Sum over examples and positions: [G, B·L, ·] per group.
    const flat = (t: Tensor, d: number) => tf.reshape(tf.transpose(t, [1, 0, 2, 3]), [G, B * L, d]);
    const w = tf.reshape(tf.matMul(flat(gw, Cg), flat(P, K), true, false), l.weight.shape);
    return l.bias ? [w, tf.reshape(tf.sum(gw, [0, 2]), [l.outChannels])] : [w];
  },
};
