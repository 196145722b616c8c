import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';

export interface DistillationOptions {
  /** Softening temperature T (default 4). */
  temperature?: number;
  /** Weight of the soft (teacher) term; 1 − alpha goes to the hard-label cross-entropy. Default 0.5. */
  alpha?: number;
}

/**
 * Knowledge distillation loss (Hinton et al. 2015):
 *   α · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α) · CE(student, labels),
 * KL averaged over the batch ('batchmean'), CE the mean over the batch. T² keeps the soft term's
 * gradient scale independent of T. `labels` are int32 class indices [N] or float one-hot/probabilities
 * [N, C]; with alpha = 1 they may be omitted. Logits are [N, C].
 */
export function distillationLoss(student: Tensor, teacher: Tensor, labels: Tensor | null, options: DistillationOptions = {}): Tensor {
  const T = options.temperature ?? 4;
  const alpha = options.alpha ?? 0.5;
  if (!(T > 0)) throw new InvalidArgumentError(`distillationLoss: temperature must be > 0, got ${T}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`distillationLoss: alpha must be in [0, 1], got ${alpha}`);
  if (student.rank !== 2 || teacher.rank !== 2 || student.shape.some((d, i) => d !== teacher.shape[i])) {
    throw new ShapeError(`distillationLoss: student and teacher logits must both be [N, C], got [${student.shape.join(', ')}] and [${teacher.shape.join(', ')}]`);
  }
  if (alpha < 1 && !labels) throw new InvalidArgumentError('distillationLoss: labels are needed when alpha < 1');
  const [N, C] = student.shape as [number, number];
  return tf.tidy(() => {
    const logPs = tf.logSoftmax(tf.div(student, T));
    const logPt = tf.logSoftmax(tf.div(teacher, T));
    const kl = tf.div(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs))), N);
    let loss = tf.mul(kl, alpha * T * T);
    if (alpha < 1) {
      const target = labels!.dtype === 'int32' ? tf.oneHot(tf.reshape(labels!, [-1]) as tf.Tensor1D, C) : labels!;
      if (target.shape[0] !== N || target.shape[1] !== C) throw new ShapeError(`distillationLoss: labels must be [${N}] indices or [${N}, ${C}], got [${labels!.shape.join(', ')}]`);
      const ce = tf.div(tf.neg(tf.sum(tf.mul(tf.cast(target, 'float32'), tf.logSoftmax(student)))), N);
      loss = tf.add(loss, tf.mul(ce, 1 - alpha));
    }
    return loss;
  });
}
