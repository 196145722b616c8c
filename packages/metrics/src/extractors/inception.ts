import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import type { Matrix } from '../linalg/matrix.js';
import type { FeatureExtractor } from './feature-extractor.js';
import { InceptionV3, loadInceptionV3 } from './inception-v3.js';

export interface InceptionExtractorOptions {
  /**
   * Resize before the network: 'bilinear' (default) is pytorch-fid's
   * `F.interpolate(x, (299, 299), mode='bilinear', align_corners=False)` — no antialiasing — done
   * with tfjs' resizeBilinear(halfPixelCenters), which samples the same points. 'none' feeds images
   * as they are (they must already be `size`×`size`, or any size ≥ 75 with `size: null`).
   */
  resize?: 'bilinear' | 'none';
  /** Target side (default 299); null keeps the input size (only with resize 'none'). */
  size?: number | null;
  /** Pixel range of the images you pass (default [0, 1]); mapped to the network's [-1, 1]. */
  range?: readonly [number, number];
  /** Images per forward pass (default 16). */
  batchSize?: number;
}

/**
 * pytorch-fid's pipeline as a FeatureExtractor: NHWC RGB images [N, H, W, 3] → resize → [-1, 1] →
 * pool3 (2048-d). Grayscale images must be repeated to 3 channels by the caller (as pytorch-fid's
 * users do), so that choice stays visible.
 */
export class InceptionFeatureExtractor implements FeatureExtractor<Tensor> {
  readonly name = 'inception-v3-pool3';
  readonly dim = 2048;
  readonly preprocessing: string;
  private readonly resize: 'bilinear' | 'none';
  private readonly size: number | null;
  private readonly lo: number;
  private readonly hi: number;
  private readonly batchSize: number;

  constructor(readonly net: InceptionV3, options: InceptionExtractorOptions = {}) {
    this.resize = options.resize ?? 'bilinear';
    this.size = options.size === undefined ? 299 : options.size;
    if (this.size === null && this.resize !== 'none') throw new InvalidArgumentError("inception extractor: size null needs resize 'none'");
    if (this.size !== null && (!Number.isInteger(this.size) || this.size < 75)) throw new InvalidArgumentError(`inception extractor: size must be an integer ≥ 75 (InceptionV3's smallest input), got ${this.size}`);
    [this.lo, this.hi] = options.range ?? [0, 1];
    if (!(this.lo < this.hi)) throw new InvalidArgumentError(`inception extractor: range must be [lo, hi] with lo < hi, got ${JSON.stringify(options.range)}`);
    this.batchSize = options.batchSize ?? 16;
    this.preprocessing = `${this.resize === 'bilinear' ? `bilinear resize to ${this.size}×${this.size} (align_corners=False, no antialias; pytorch-fid)` : 'no resize'}; [${this.lo}, ${this.hi}] → [-1, 1]`;
    net.eval();
  }

  /** Resized, normalized network input for one batch (caller owns it). */
  prepare(images: Tensor): Tensor {
    if (images.rank !== 4 || images.shape[3] !== 3) throw new ShapeError(`inception extractor: expected NHWC RGB images [N, H, W, 3], got shape [${images.shape.join(', ')}]`);
    return tf.tidy(() => {
      let x = tf.cast(images, 'float32') as Tensor;
      if (this.resize === 'bilinear' && (x.shape[1] !== this.size || x.shape[2] !== this.size)) {
        x = tf.image.resizeBilinear(x as tf.Tensor4D, [this.size!, this.size!], false, true);
      } else if (this.size !== null && (x.shape[1] !== this.size || x.shape[2] !== this.size)) {
        throw new ShapeError(`inception extractor: resize 'none' needs ${this.size}×${this.size} images, got ${x.shape[1]}×${x.shape[2]}`);
      }
      return tf.sub(tf.mul(x, 2 / (this.hi - this.lo)), (2 * this.lo) / (this.hi - this.lo) + 1);
    });
  }

  private run(images: Tensor, head: (x: Tensor) => Tensor, width: number): Matrix {
    const n = images.shape[0]!;
    const out = new Float64Array(n * width);
    for (let s = 0; s < n; s += this.batchSize) {
      const b = Math.min(this.batchSize, n - s);
      const t = tf.tidy(() => head(this.prepare(tf.slice(images, [s, 0, 0, 0], [b, -1, -1, -1]))));
      try {
        out.set(t.dataSync(), s * width);
      } finally {
        t.dispose();
      }
    }
    return { rows: n, cols: width, data: out };
  }

  features(images: Tensor): Matrix {
    return this.run(images, (x) => this.net.pool3(x), 2048);
  }

  /** Softmax over the 1008 logits of the FID weights' fc head. */
  probabilities(images: Tensor): Matrix {
    return this.run(images, (x) => tf.softmax(this.net.forward(x)), 1008);
  }

  dispose(): void {
    this.net.dispose();
  }
}

/** An InceptionV3 pool3 extractor from user-supplied safetensors weights with pytorch-fid's names. */
export function inceptionFeatureExtractor(weights: Uint8Array, options: InceptionExtractorOptions = {}): InceptionFeatureExtractor {
  return new InceptionFeatureExtractor(loadInceptionV3(weights), options);
}
