import { tf, type Tensor } from '@nutshell/core';
import { Linear } from '@nutshell/nn';
import { ghostIsCheaper, perExampleWeights, type GradSampler } from './types.js';

/** Input [B, ..., in] and backprop [B, ..., out] as [B, T, in] / [B, T, out]. */
function shaped(l: Linear, a: Tensor, g: Tensor, B: number): { a: Tensor; g: Tensor } {
  return { a: tf.reshape(a, [B, -1, l.inFeatures]), g: tf.reshape(g, [B, -1, l.outFeatures]) };
}

/** Linear: example b's weight gradient is Gᵦᵀ Aᵦ over its T positions, its bias gradient Σₜ gᵦₜ. */
export const linearSampler: GradSampler<Linear> = {
  name: 'Linear',
  matches: (m): m is Linear => m instanceof Linear,
  parameters: (l) => (l.bias ? [l.weight, l.bias] : [l.weight]),
  accepts: (l, inShape, outShape, B) => inShape[0] === B && outShape[0] === B && inShape.length >= 2 && inShape[inShape.length - 1] === l.inFeatures,
  perSample(l, input, backprop, B) {
    const { a, g } = shaped(l, input, backprop, B);
    const w = tf.matMul(g, a, true, false);
    return l.bias ? [w, tf.sum(g, 1)] : [w];
  },
  ghostNormSq(l, input, backprop, B) {
    const { a, g } = shaped(l, input, backprop, B);
    const T = g.shape[1]!;
    let w: Tensor;
    if (T === 1) w = tf.mul(tf.sum(tf.square(g), [1, 2]), tf.sum(tf.square(a), [1, 2]));
    else if (ghostIsCheaper(T, l.inFeatures, l.outFeatures)) w = tf.sum(tf.mul(tf.matMul(g, g, false, true), tf.matMul(a, a, false, true)), [1, 2]);
    else return null;
    return l.bias ? tf.add(w, tf.sum(tf.square(tf.sum(g, 1)), 1)) : w;
  },
  weightedSum(l, input, backprop, wts) {
    const B = wts.shape[0]!;
    const { a, g } = shaped(l, input, backprop, B);
    const gw = tf.reshape(tf.mul(g, perExampleWeights(wts, 3)), [-1, l.outFeatures]);
    const w = tf.matMul(gw, tf.reshape(a, [-1, l.inFeatures]), true, false);
    return l.bias ? [w, tf.sum(gw, 0)] : [w];
  },
};
