import { tf, type Tensor } from '@nutshell/core';
import { Embedding } from '@nutshell/nn';
import { ghostIsCheaper, perExampleWeights, type GradSampler } from './types.js';

/** Indices [B, T] and backprops [B, T, dim], with rows at paddingIdx zeroed (they get no gradient). */
function shaped(e: Embedding, input: Tensor, backprop: Tensor, B: number): { idx: Tensor; g: Tensor; T: number } {
  const idx = tf.reshape(input, [B, -1]);
  let g = tf.reshape(backprop, [B, -1, e.embeddingDim]);
  const p = e.options.paddingIdx;
  if (p !== undefined) g = tf.mul(g, tf.expandDims(tf.cast(tf.notEqual(idx, p), 'float32'), 2));
  return { idx, g, T: idx.shape[1]! };
}

/**
 * Embedding: example b's gradient scatters its backprop rows onto the rows it looked up
 * (Σₜ e_{iₜ} gₜᵀ). Ghost norm: ‖Σₜ e_{iₜ} gₜᵀ‖² = Σ_{t,t'} [iₜ = iₜ'] gₜ·gₜ' (Li et al. 2022).
 */
export const embeddingSampler: GradSampler<Embedding> = {
  name: 'Embedding',
  matches: (m): m is Embedding => m instanceof Embedding,
  parameters: (e) => [e.weight],
  accepts: (e, inShape, outShape, B) => inShape.length >= 1 && inShape[0] === B && outShape[0] === B && outShape[outShape.length - 1] === e.embeddingDim,
  perSample(e, input, backprop, B) {
    const { idx, g } = shaped(e, input, backprop, B);
    const N = e.numEmbeddings;
    const seg = <tf.Tensor1D>tf.reshape(tf.add(idx, tf.reshape(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(N, 'int32')), [B, 1])), [-1]);
    const rows = tf.unsortedSegmentSum(tf.reshape(g, [-1, e.embeddingDim]), seg, B * N);
    return [tf.reshape(rows, [B, N, e.embeddingDim])];
  },
  ghostNormSq(e, input, backprop, B) {
    const { idx, g, T } = shaped(e, input, backprop, B);
    if (T === 1) return tf.sum(tf.square(g), [1, 2]);
    if (!ghostIsCheaper(T, e.numEmbeddings, e.embeddingDim)) return null;
    const same = tf.cast(tf.equal(tf.expandDims(idx, 2), tf.expandDims(idx, 1)), 'float32');
    return tf.sum(tf.mul(same, tf.matMul(g, g, false, true)), [1, 2]);
  },
  weightedSum(e, input, backprop, wts) {
    const B = wts.shape[0]!;
    const { idx, g } = shaped(e, input, backprop, B);
    const gw = tf.reshape(tf.mul(g, perExampleWeights(wts, 3)), [-1, e.embeddingDim]);
    return [tf.unsortedSegmentSum(gw, tf.reshape(idx, [-1]) as tf.Tensor1D, e.numEmbeddings)];
  },
};
