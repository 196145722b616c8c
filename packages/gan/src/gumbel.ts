import { InvalidArgumentError, Rng, tf, type Tensor } from '@nutshell/core';

/**
 * Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017) over the last axis: softmax((logits + g)/τ)
 * with g ~ Gumbel(0, 1). With `hard`, the forward value is the one-hot argmax while the gradient is
 * the soft sample's (straight-through), which lets a text GAN's generator emit discrete tokens.
 */
export function gumbelSoftmax(logits: Tensor, options: { tau?: number; hard?: boolean; rng?: Rng; gumbel?: Tensor } = {}): Tensor {
  const tau = options.tau ?? 1;
  if (!(tau > 0)) throw new InvalidArgumentError(`gumbelSoftmax: tau must be > 0, got ${tau}`);
  return tf.tidy(() => {
    const g = options.gumbel ?? tf.neg(tf.log(tf.neg(tf.log(tf.add((options.rng ?? new Rng(0)).uniformTensor([...logits.shape]), 1e-20)))));
    const soft = tf.softmax(tf.div(tf.add(logits, g), tau));
    if (!options.hard) return soft;
    return straightThroughOneHot(soft);
  });
}

/** Forward: one-hot of the argmax; backward: identity (the gradient goes to the soft input). */
export const straightThroughOneHot: (soft: Tensor) => Tensor = tf.customGrad(((soft: Tensor) => {
  const k = soft.shape[soft.rank - 1]!;
  const value = tf.cast(tf.oneHot(tf.argMax(soft, -1), k), 'float32');
  return { value, gradFunc: (dy: Tensor) => dy };
}) as any) as unknown as (soft: Tensor) => Tensor;
