import { tf, type Tensor } from '@nutshell/core';

/** Identity in the forward pass, zero gradient in the backward pass (tfjs has no tf.stopGradient). */
export const stopGradient: (x: Tensor) => Tensor = tf.customGrad((x: Tensor | tf.GradSaveFunc) => ({
  value: tf.clone(x as Tensor),
  gradFunc: (dy: Tensor) => tf.zerosLike(dy),
})) as (x: Tensor) => Tensor;
