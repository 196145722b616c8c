import { InvalidArgumentError, ShapeError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { Module, init, type Parameter, type Seed } from '@nutshell/nn';

/**
 * Minibatch standard deviation (Karras et al. 2018, ProGAN): split the batch into groups of
 * `groupSize`, take each feature's std over the group, average it to one number per group and
 * append it as an extra channel (NHWC input) or feature ([N, F] input). Sample n belongs to group
 * n mod (N / G), as in the reference implementation.
 */
export class MinibatchStdDev extends Module {
  constructor(readonly groupSize = 4, readonly eps = 1e-8) {
    super();
    assertPositiveInt('MinibatchStdDev groupSize', groupSize);
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 2 && x.rank !== 4) throw new ShapeError(`MinibatchStdDev: expected [N, F] or [N, H, W, C], got [${x.shape.join(', ')}]`);
    const n = x.shape[0]!;
    const g = Math.min(this.groupSize, n);
    if (n % g !== 0) throw new InvalidArgumentError(`MinibatchStdDev: batch size ${n} must be divisible by the group size ${g}`);
    return tf.tidy(() => {
      const m = n / g;
      const y = tf.reshape(x, [g, m, ...x.shape.slice(1)]);
      const centred = tf.sub(y, tf.mean(y, 0, true));
      const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), this.eps)); // [m, ...]
      const perGroup = tf.mean(tf.reshape(std, [m, -1]), 1); // [m]
      const perSample = tf.tile(perGroup, [g]); // index g·m + j → group j
      const extra = x.rank === 4
        ? tf.tile(tf.reshape(perSample, [n, 1, 1, 1]), [1, x.shape[1]!, x.shape[2]!, 1])
        : tf.reshape(perSample, [n, 1]);
      return tf.concat([x, extra], -1);
    });
  }
}

/**
 * Minibatch discrimination (Salimans et al. 2016): M = x·T reshaped [N, B, C];
 * o(xᵢ)_b = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖₁); output concat(x, o) of width F + B. Lets D see
 * how similar a sample is to the rest of the batch, which penalizes collapse.
 */
export class MinibatchDiscrimination extends Module {
  readonly T: Parameter;
  constructor(readonly inFeatures: number, readonly numKernels: number, readonly kernelDim: number, options: { seed?: Seed } = {}) {
    super();
    assertPositiveInt('MinibatchDiscrimination inFeatures', inFeatures);
    assertPositiveInt('MinibatchDiscrimination numKernels', numKernels);
    assertPositiveInt('MinibatchDiscrimination kernelDim', kernelDim);
    this.T = this.registerParameter('T', init.normal([inFeatures, numKernels * kernelDim], 0, 0.1, rngFor(options.seed)));
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) throw new ShapeError(`MinibatchDiscrimination: expected [N, ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const M = tf.reshape(tf.matMul(x, this.T), [n, 1, this.numKernels, this.kernelDim]);
      const Mt = tf.reshape(M, [1, n, this.numKernels, this.kernelDim]);
      const l1 = tf.sum(tf.abs(tf.sub(M, Mt)), 3); // [N, N, B]
      const o = tf.sub(tf.sum(tf.exp(tf.neg(l1)), 1), 1); // drop j = i (exp(0) = 1)
      return tf.concat([x, o], 1);
    });
  }
}
