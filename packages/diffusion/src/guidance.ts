import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { combinePrediction, splitPrediction, type PredictionType } from './forward.js';
import type { Conditioning, Denoiser } from './models/denoiser.js';
import type { NoiseSchedule } from './schedule.js';
import { hasVarianceChannels, splitVarianceChannels } from './variational.js';

/**
 * Classifier-free guidance (Ho & Salimans 2022): runs the model with the labels and with the null
 * class in one batch and returns u + w·(c − u). w = 1 is the plain conditional model; w = 0 the
 * unconditional one. Works in any prediction type (the combination is linear).
 */
export function classifierFreeGuidance(model: Denoiser, guidanceScale: number, options: { nullClass?: number } = {}): Denoiser {
  const nullClass = options.nullClass ?? model.numClasses;
  if (nullClass === undefined) throw new InvalidArgumentError('classifierFreeGuidance: the model has no numClasses; give nullClass');
  if (!Number.isFinite(guidanceScale)) throw new InvalidArgumentError(`classifierFreeGuidance: guidanceScale must be finite, got ${guidanceScale}`);
  return {
    numClasses: model.numClasses,
    forward(x: Tensor, t: Tensor, cond: Conditioning = {}): Tensor {
      if (!cond.classLabels) throw new InvalidArgumentError('classifierFreeGuidance: classLabels are required');
      const B = x.shape[0]!;
      return tf.tidy(() => {
        const labels = tf.concat([tf.cast(cond.classLabels!, 'int32'), tf.fill([B], nullClass, 'int32')]);
        const tt = t.shape[0] === 1 ? tf.tile(t, [2 * B]) : tf.concat([t, t]);
        const concat = cond.concat ? tf.concat([cond.concat, cond.concat]) : undefined;
        const out = model.forward(tf.concat([x, x]), tt, { classLabels: labels, concat });
        const [c, u] = tf.split(out, 2, 0) as [Tensor, Tensor];
        if (hasVarianceChannels(c, x)) {
          // Learned variance: guide the prediction, keep the conditional branch's variance (as DeepFloyd IF).
          const [cp, cv] = splitVarianceChannels(c, x);
          const [up] = splitVarianceChannels(u, x);
          return tf.concat([tf.add(up, tf.mul(tf.sub(cp, up), guidanceScale)), cv], x.rank - 1);
        }
        return tf.add(u, tf.mul(tf.sub(c, u), guidanceScale));
      });
    },
  };
}

export interface ClassifierGuidanceOptions {
  /** log-probability-producing classifier on noisy inputs: (x_t, t) → logits [B, classes]. */
  classifier: (x: Tensor, t: Tensor) => Tensor;
  scale: number;
  schedule: NoiseSchedule;
  predictionType?: PredictionType;
}

/**
 * Classifier guidance (Dhariwal & Nichol 2021) as a denoiser wrapper: ε̂' = ε̂ − s·√(1 − ᾱ_t)·∇ₓ log p(y | x_t).
 * The wrapped model sees VP inputs (what scaleModelInput produces); cond.classLabels give y.
 */
export function classifierGuidance(model: Denoiser, options: ClassifierGuidanceOptions): Denoiser {
  const type = options.predictionType ?? 'epsilon';
  return {
    numClasses: model.numClasses,
    forward(x: Tensor, t: Tensor, cond: Conditioning = {}): Tensor {
      if (!cond.classLabels) throw new InvalidArgumentError('classifierGuidance: classLabels are required');
      const tv = t.dataSync()[0]!;
      const ab = options.schedule.alphaCumprodAt(tv);
      const a = Math.sqrt(ab);
      const b = Math.sqrt(1 - ab);
      return tf.tidy(() => {
        const labels = tf.cast(cond.classLabels!, 'int32');
        const grad = tf.grad((xi: Tensor) => {
          const logits = options.classifier(xi, t);
          if (logits.rank !== 2 || logits.shape[0] !== x.shape[0]) throw new ShapeError(`classifierGuidance: classifier must return logits [${x.shape[0]}, classes], got [${logits.shape.join(', ')}]`);
          const logp = tf.logSoftmax(logits);
          return tf.sum(tf.mul(logp, tf.oneHot(labels, logits.shape[1]!)));
        })(x);
        const raw = model.forward(x, t, cond);
        const [out, variance] = hasVarianceChannels(raw, x) ? splitVarianceChannels(raw, x) : [raw, null];
        const { eps } = splitPrediction(type, out, x, a, b);
        const guidedEps = tf.sub(eps, tf.mul(grad, options.scale * b));
        const guidedX0 = tf.div(tf.sub(x, tf.mul(guidedEps, b)), a);
        const guided = combinePrediction(type, guidedX0, guidedEps, a, b);
        return variance ? tf.concat([guided, variance], x.rank - 1) : guided;
      });
    },
  };
}
