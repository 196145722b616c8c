import { InvalidArgumentError, Rng, ShapeError, tf, type Tensor } from '@nutshell/core';
import type { Module } from '@nutshell/nn';

/** A discriminator as a function of its image input (labels etc. closed over). */
export type Critic = (x: Tensor) => Tensor;

/**
 * ∂ Σ D(x) / ∂x: the gradient of the critic's summed output with respect to its input (each
 * sample's row is that sample's input gradient, since samples do not interact — except through
 * batch statistics, which is why gradient penalties and BatchNorm do not mix). Differentiable
 * again, so a penalty on it trains D (double backprop).
 */
export function inputGradient(critic: Critic, x: Tensor): Tensor {
  return tf.grad((xi: Tensor) => tf.sum(critic(xi)))(x);
}

/** Per-sample L2 norm of a batch [N, ...] → [N]. */
function rowNorms(g: Tensor): Tensor {
  return tf.sqrt(tf.add(tf.sum(tf.square(tf.reshape(g, [g.shape[0]!, -1])), 1), 1e-12));
}

export interface GradientPenaltyOptions {
  /** λ (default 10, Gulrajani et al. 2017). */
  lambda?: number;
  /** Target norm (default 1). */
  target?: number;
  /** Interpolation weights per sample in [0, 1] ([N]); drawn U(0, 1) from `rng` when absent. */
  alpha?: Tensor;
  rng?: Rng;
}

/**
 * WGAN-GP: λ · E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] at x̂ = α·real + (1 − α)·fake, α ~ U(0, 1) per sample.
 * Returns a scalar whose gradient with respect to D's parameters trains the critic.
 */
export function gradientPenalty(critic: Critic, real: Tensor, fake: Tensor, options: GradientPenaltyOptions = {}): Tensor {
  if (real.shape.length !== fake.shape.length || real.shape.some((d, i) => d !== fake.shape[i])) {
    throw new ShapeError(`gradientPenalty: real [${real.shape.join(', ')}] and fake [${fake.shape.join(', ')}] must have the same shape`);
  }
  const lambda = options.lambda ?? 10;
  if (!(lambda >= 0)) throw new InvalidArgumentError(`gradientPenalty: lambda must be ≥ 0, got ${lambda}`);
  const n = real.shape[0]!;
  return tf.tidy(() => {
    const a = options.alpha ?? (options.rng ?? new Rng(0)).uniformTensor([n]);
    if (a.size !== n) throw new ShapeError(`gradientPenalty: alpha must have ${n} values, got shape [${a.shape.join(', ')}]`);
    const ab = tf.reshape(a, [n, ...real.shape.slice(1).map(() => 1)]);
    const xhat = tf.add(tf.mul(ab, real), tf.mul(tf.sub(1, ab), fake));
    const norms = rowNorms(inputGradient(critic, xhat));
    return tf.mul(lambda, tf.mean(tf.square(tf.sub(norms, options.target ?? 1))));
  });
}

/**
 * R1 (Mescheder et al. 2018): γ/2 · E[‖∇ₓ D(x)‖²] on real data (R2 when given fakes).
 */
export function r1Penalty(critic: Critic, real: Tensor, gamma = 10): Tensor {
  if (!(gamma >= 0)) throw new InvalidArgumentError(`r1Penalty: gamma must be ≥ 0, got ${gamma}`);
  return tf.tidy(() => {
    const g = inputGradient(critic, real);
    return tf.mul(gamma / 2, tf.mean(tf.sum(tf.square(tf.reshape(g, [real.shape[0]!, -1])), 1)));
  });
}

/** WGAN weight clipping: clamps every trainable parameter of `module` to [−c, c] in place. */
export function clipWeights(module: Module, c: number): void {
  if (!(c > 0)) throw new InvalidArgumentError(`clipWeights: c must be > 0, got ${c}`);
  for (const p of module.parameters({ trainableOnly: true })) tf.tidy(() => p.assign(tf.clipByValue(p, -c, c)));
}
