import { tf, type Tensor } from '@nutshell/core';
import { embed } from '../gpt/ops.js';

const f32 = Math.fround;

/**
 * T5's relative position bucket (HF `T5Attention._relative_position_bucket`) for one relative
 * position (key − query). Half the buckets hold exact small distances, the rest log-spaced distances
 * up to maxDistance; bidirectional (encoder) buckets also split on the sign, causal (decoder) ones
 * map every future position to bucket 0. The float steps are rounded to float32 as PyTorch computes
 * them, so boundary cases land in the same bucket.
 */
export function relativePositionBucket(relativePosition: number, bidirectional: boolean, numBuckets = 32, maxDistance = 128): number {
  let n = numBuckets;
  let bucket = 0;
  let rp = relativePosition;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (rp > 0) bucket += n;
    rp = Math.abs(rp);
  } else {
    rp = -Math.min(rp, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (rp < maxExact) return bucket + rp;
  const scaled = f32(f32(f32(Math.log(f32(rp / maxExact))) / f32(Math.log(maxDistance / maxExact))) * (n - maxExact));
  return bucket + Math.min(maxExact + Math.trunc(scaled), n - 1);
}

/** Bucket ids [qLen·kLen] for queries at positions qOffset… over keys 0…kLen−1. */
export function relativePositionBuckets(qLen: number, kLen: number, qOffset: number, bidirectional: boolean, numBuckets: number, maxDistance: number): Int32Array {
  const out = new Int32Array(qLen * kLen);
  for (let i = 0; i < qLen; i++) for (let j = 0; j < kLen; j++) out[i * kLen + j] = relativePositionBucket(j - (i + qOffset), bidirectional, numBuckets, maxDistance);
  return out;
}

/**
 * T5's position bias [1, H, qLen, kLen] from `relative_attention_bias.weight` [numBuckets, H]
 * (HF compute_bias), for queries at absolute positions qOffset… (a decoder step with a KV cache).
 */
export function positionBias(weight: Tensor, qLen: number, kLen: number, qOffset: number, bidirectional: boolean, maxDistance: number): Tensor {
  const [numBuckets, H] = weight.shape as [number, number];
  return tf.tidy(() => {
    const ids = tf.tensor2d(relativePositionBuckets(qLen, kLen, qOffset, bidirectional, numBuckets, maxDistance), [qLen, kLen], 'int32');
    const values = embed(weight, ids); // [qLen, kLen, H]
    return tf.reshape(tf.transpose(values, [2, 0, 1]), [1, H, qLen, kLen]);
  });
}
