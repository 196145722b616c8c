import { InvalidArgumentError, Rng, ShapeError, describe, rngFor, tf, type Tensor } from '@nutshell/core';

export interface PrivatizeOptions {
  /** Clipping norm C; each example's gradient (over all parameters together) is scaled to norm ≤ C. Infinity disables clipping. */
  maxGradNorm: number;
  /** σ: the noise added to the summed gradient has standard deviation σ·C. */
  noiseMultiplier: number;
  /**
   * Divisor of the noisy sum. Under Poisson sampling use the expected batch size q·N (Opacus does);
   * default: the actual batch size.
   */
  expectedBatchSize?: number;
  seed?: number | string | Rng;
}

export interface PrivatizedGradients {
  /** One averaged, noised gradient per parameter, shaped like the parameter. */
  grads: Tensor[];
  /** Each example's gradient norm before clipping. */
  perSampleNorms: Float32Array;
  /** Fraction of examples whose gradient was scaled down. */
  clippedFraction: number;
}

/**
 * The DP-SGD gradient step (Abadi et al. 2016, as Opacus does it): given per-example gradients
 * `perSample[p]` of shape [B, ...paramShape], clip each example's whole gradient to norm C
 * (factor min(1, C/(‖g‖ + 1e-6))), sum over the batch, add N(0, σ²C²) noise, divide by the batch size.
 * Disposes nothing it was given; the caller owns the returned tensors.
 */
export function privatizeGradients(perSample: readonly Tensor[], options: PrivatizeOptions): PrivatizedGradients {
  const { maxGradNorm: C, noiseMultiplier: sigma } = options;
  if (!Array.isArray(perSample) || perSample.length === 0) throw new InvalidArgumentError(`privatizeGradients: expected a non-empty array of per-example gradient tensors, got ${describe(perSample)}`);
  if (typeof C !== 'number' || !(C > 0)) throw new InvalidArgumentError(`privatizeGradients: maxGradNorm must be > 0 (Infinity to disable clipping), got ${describe(C)}`);
  if (typeof sigma !== 'number' || !(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError(`privatizeGradients: noiseMultiplier must be a finite number >= 0, got ${describe(sigma)}`);
  if (sigma > 0 && !Number.isFinite(C)) throw new InvalidArgumentError('privatizeGradients: noise needs a finite maxGradNorm (the noise scale is σ·C)');
  const B = perSample[0]!.shape[0];
  perSample.forEach((g, p) => {
    if (g.rank < 1 || g.shape[0] !== B) throw new ShapeError(`privatizeGradients: per-example gradient ${p} must have batch size ${B} as its first dimension, got shape [${g.shape.join(', ')}]`);
  });
  if (!B) throw new ShapeError('privatizeGradients: the batch is empty');
  const divisor = options.expectedBatchSize ?? B;
  if (!(divisor > 0)) throw new InvalidArgumentError(`privatizeGradients: expectedBatchSize must be > 0, got ${describe(divisor)}`);
  const rng = options.seed instanceof Rng ? options.seed : rngFor(options.seed);

  const norms = tf.tidy(() => {
    const sq = perSample.map((g) => tf.sum(tf.square(tf.reshape(g, [B!, -1])), 1));
    return tf.sqrt(tf.addN(sq));
  });
  const perSampleNorms = norms.dataSync() as Float32Array;
  const grads = tf.tidy(() => {
    const factor = Number.isFinite(C) ? tf.minimum(tf.div(C, tf.add(norms, 1e-6)), 1) : tf.onesLike(norms);
    return perSample.map((g) => {
      const f = tf.reshape(factor, [B!, ...g.shape.slice(1).map(() => 1)]);
      let summed = tf.sum(tf.mul(g, f), 0);
      if (sigma > 0) summed = tf.add(summed, rng.normalTensor(summed.shape, 0, sigma * C));
      return tf.div(summed, divisor);
    });
  });
  norms.dispose();
  let clipped = 0;
  for (const n of perSampleNorms) if (n + 1e-6 > C) clipped++;
  return { grads, perSampleNorms: Float32Array.from(perSampleNorms), clippedFraction: clipped / B };
}
