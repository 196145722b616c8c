import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';
import type { Critic } from './penalties.js';

/**
 * Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): adds N(0, std²) to what D sees,
 * real and fake alike, so their distributions overlap. Use `annealedStd` to decay it to 0.
 */
export function instanceNoise(x: Tensor, std: number, rng: Rng): Tensor {
  if (!(std >= 0)) throw new InvalidArgumentError(`instanceNoise: std must be ≥ 0, got ${std}`);
  if (std === 0) return tf.clone(x);
  return tf.tidy(() => tf.add(x, rng.normalTensor([...x.shape], 0, std)));
}

/** Linear decay of the noise std from `start` at step 0 to 0 at `steps`. */
export function annealedStd(start: number, step: number, steps: number): number {
  if (!(steps > 0)) return start;
  return start * Math.max(0, 1 - step / steps);
}

/**
 * One-sided label smoothing (Salimans et al. 2016): real targets become `value` (e.g. 0.9), fake
 * targets stay 0. Returns a target tensor shaped like `logits` for custom losses; the built-in
 * losses take `realLabel` directly.
 */
export function smoothedRealTargets(logits: Tensor, value = 0.9): Tensor {
  if (!(value > 0 && value <= 1)) throw new InvalidArgumentError(`smoothedRealTargets: value must be in (0, 1], got ${value}`);
  return tf.fill([...logits.shape], value);
}

/** A label-preserving augmentation for consistency regularization. */
export type Augment = (x: Tensor, rng: Rng) => Tensor;

/**
 * Random translation by up to `maxShift` pixels (zero padding, per-sample shifts) and, with
 * `flip`, random horizontal flips. NHWC input. Pure tensor ops, so D can be differentiated.
 */
export function randomShift(options: { maxShift?: number; flip?: boolean } = {}): Augment {
  const s = options.maxShift ?? 2;
  if (!Number.isInteger(s) || s < 0) throw new InvalidArgumentError(`randomShift: maxShift must be a non-negative integer, got ${s}`);
  return (x, rng) => tf.tidy(() => {
    if (x.rank !== 4) throw new InvalidArgumentError(`randomShift: expected NHWC images, got shape [${x.shape.join(', ')}]`);
    const [n, h, w] = x.shape as [number, number, number, number];
    const padded = tf.pad(x, [[0, 0], [s, s], [s, s], [0, 0]]);
    const parts: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const dy = rng.int(2 * s + 1);
      const dx = rng.int(2 * s + 1);
      let img = tf.slice(padded, [i, dy, dx, 0], [1, h, w, x.shape[3]!]);
      if (options.flip && rng.uniform() < 0.5) img = tf.reverse(img, 2);
      parts.push(img);
    }
    return tf.concat(parts, 0);
  });
}

/**
 * Consistency regularization (CR-GAN, Zhang et al. 2020): λ · E‖D(x) − D(T(x))‖² on the samples
 * D is trained on (real images in CR; pass fakes too for bCR). The augmented copy is treated as a
 * constant input; the penalty trains D only.
 */
export function consistencyLoss(critic: Critic, x: Tensor, augment: Augment, rng: Rng, lambda = 10): Tensor {
  if (!(lambda >= 0)) throw new InvalidArgumentError(`consistencyLoss: lambda must be ≥ 0, got ${lambda}`);
  return tf.tidy(() => {
    const xa = augment(x, rng);
    const d = tf.sub(critic(x), critic(xa));
    return tf.mul(lambda, tf.mean(tf.sum(tf.reshape(tf.square(d), [x.shape[0]!, -1]), 1)));
  });
}
