import { tf, type Tensor } from '@nutshell/core';

export interface UnfoldGeometry {
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  /** [top, bottom, left, right]. */
  padding: [number, number, number, number];
}

/** Output height and width of a convolution with this geometry over an H×W input. */
export function convOutputSize(H: number, W: number, o: UnfoldGeometry): [number, number] {
  const span = (n: number, i: 0 | 1, p: number) => Math.floor((n + p - o.dilation[i] * (o.kernel[i] - 1) - 1) / o.stride[i]) + 1;
  return [span(H, 0, o.padding[0] + o.padding[1]), span(W, 1, o.padding[2] + o.padding[3])];
}

const indexCache = new Map<string, Int32Array>();

/** Flat (row·Wp + col) positions in the padded input that each output position's taps read. */
function patchIndices(Hp: number, Wp: number, Ho: number, Wo: number, o: UnfoldGeometry): Int32Array {
  const key = [Hp, Wp, Ho, Wo, ...o.kernel, ...o.stride, ...o.dilation].join(',');
  let idx = indexCache.get(key);
  if (!idx) {
    const [kh, kw] = o.kernel;
    idx = new Int32Array(Ho * Wo * kh * kw);
    let n = 0;
    for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        idx[n++] = (oh * o.stride[0] + i * o.dilation[0]) * Wp + ow * o.stride[1] + j * o.dilation[1];
      }
    }
    if (indexCache.size > 64) indexCache.clear();
    indexCache.set(key, idx);
  }
  return idx;
}

/**
 * im2col (torch.nn.functional.unfold) of an NHWC batch: [B, L, C, kh·kw] with L = Ho·Wo output
 * positions, so that channel-major rows (c, i, j) line up with a PyTorch conv weight [out, C, kh, kw].
 * Done with one gather over precomputed positions (memory-bound, no kernel-sized matmul).
 */
export function unfoldNHWC(x: Tensor, o: UnfoldGeometry): Tensor {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape as [number, number, number, number];
    const [pt, pb, pl, pr] = o.padding;
    const xp = pt + pb + pl + pr > 0 ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]) : x;
    const Hp = H + pt + pb, Wp = W + pl + pr;
    const [Ho, Wo] = convOutputSize(H, W, o);
    const K = o.kernel[0] * o.kernel[1];
    const idx = tf.tensor1d(patchIndices(Hp, Wp, Ho, Wo, o), 'int32');
    const taps = tf.gather(tf.reshape(xp, [B, Hp * Wp, C]), idx, 1); // [B, L·K, C]
    return tf.transpose(tf.reshape(taps, [B, Ho * Wo, K, C]), [0, 1, 3, 2]);
  });
}
