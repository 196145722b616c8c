import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';

/** Keys' cubic convolution kernel with parameter a (PyTorch −0.75, PIL/MATLAB −0.5). */
function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/**
 * Interpolation matrix [out, in] of 1-D bicubic resampling with half-pixel centres
 * (align_corners = false): source x = (o + ½)·in/out − ½, four taps around it, indices clamped
 * to the border, as PyTorch's upsample_bicubic2d.
 */
export function bicubicMatrix(inSize: number, outSize: number, a = -0.75): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const f = Math.floor(src);
    const t = src - f;
    const w = [cubic(t + 1, a), cubic(t, a), cubic(1 - t, a), cubic(2 - t, a)];
    for (let k = 0; k < 4; k++) {
      const i = Math.min(inSize - 1, Math.max(0, f - 1 + k));
      m[o * inSize + i] += w[k]!;
    }
  }
  return m;
}

/**
 * Bicubic resize of NHWC images (PyTorch's `F.interpolate(mode='bicubic', align_corners=False)`,
 * a = −0.75 by default; no antialiasing, so meant for upsampling). Separable: two matrix products.
 * The SRGAN baseline every super-resolution result is compared with.
 */
export function bicubicResize(x: Tensor, size: [number, number], options: { a?: number } = {}): Tensor {
  if (x.rank !== 4) throw new ShapeError(`bicubicResize: expected NHWC images, got [${x.shape.join(', ')}]`);
  const [oh, ow] = size;
  if (!(Number.isInteger(oh) && oh > 0 && Number.isInteger(ow) && ow > 0)) throw new InvalidArgumentError(`bicubicResize: size must be two positive integers, got ${JSON.stringify(size)}`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const a = options.a ?? -0.75;
  return tf.tidy(() => {
    const mh = tf.tensor2d(bicubicMatrix(h, oh, a), [oh, h]);
    const mw = tf.tensor2d(bicubicMatrix(w, ow, a), [ow, w]);
    // Rows: [H, N·W·C] → [oH, N·W·C]; then columns the same way.
    let t = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]);
    t = tf.reshape(tf.matMul(mh, t), [oh, n, w, c]);
    t = tf.reshape(tf.transpose(t, [2, 1, 0, 3]), [w, n * oh * c]);
    t = tf.reshape(tf.matMul(mw, t), [ow, n, oh, c]);
    return tf.transpose(t, [1, 2, 0, 3]);
  });
}
