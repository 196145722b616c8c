import { tf, type Tensor } from '@nutshell/core';
import { ConvTranspose2d, type ConvTranspose2dOptions } from '@nutshell/nn';

/**
 * nn's `ConvTranspose2d` (same parameters, names and results) with a faster path for the usual
 * GAN upsampling layer: when 2·padding = kernel − stride per axis (DCGAN's 4×4 / stride 2 /
 * padding 1), the cropped full transposed convolution equals TF's 'same' transposed convolution,
 * so it runs as one op. The general path crops with a slice whose gradient is a pad, which costs
 * more than the convolution itself on the CPU backends. Other configurations use the parent.
 */
export class FastConvTranspose2d extends ConvTranspose2d {
  private readonly same: boolean;
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], options: ConvTranspose2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, options);
    this.same = this.groups === 1 && this.dataFormat === 'NHWC'
      && [0, 1].every((i) => this.dilation[i] === 1 && this.outputPadding[i] === 0 && 2 * this.padding[i]! === this.kernelSize[i]! - this.stride[i]!);
  }
  override forward(x: Tensor): Tensor {
    if (!this.same || x.rank !== 4 || x.shape[3] !== this.inChannels) return super.forward(x);
    return tf.tidy(() => {
      const [n, h, w] = x.shape as [number, number, number, number];
      const filter = tf.transpose(this.weight, [2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, out, in]
      const y = tf.conv2dTranspose(x as tf.Tensor4D, filter, [n, h * this.stride[0], w * this.stride[1], this.outChannels], this.stride, 'same');
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
