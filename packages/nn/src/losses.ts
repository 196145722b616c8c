import { DTypeError, InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { logSoftmax } from './activations.js';

/** Losses with torch.nn.functional's definitions and defaults. */
export type Reduction = 'mean' | 'sum' | 'none';
export interface ReductionOptions {
  reduction?: Reduction;
}

function reduce(x: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (reduction === 'mean') return tf.mean(x);
  if (reduction === 'sum') return tf.sum(x);
  if (reduction === 'none') return tf.clone(x);
  throw new InvalidArgumentError(`reduction: expected 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
}

function sameShape(loss: string, input: Tensor, target: Tensor): void {
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`${loss}: expected target of the input's shape [${input.shape.join(', ')}], got [${target.shape.join(', ')}]`);
  }
}

export function mseLoss(input: Tensor, target: Tensor, o: ReductionOptions = {}): Tensor {
  sameShape('mseLoss', input, target);
  return tf.tidy(() => reduce(tf.squaredDifference(input, target), o.reduction));
}

/** Mean absolute error (torch's l1_loss). */
export function l1Loss(input: Tensor, target: Tensor, o: ReductionOptions = {}): Tensor {
  sameShape('l1Loss', input, target);
  return tf.tidy(() => reduce(tf.abs(tf.sub(input, target)), o.reduction));
}
export const maeLoss = l1Loss;

/** Huber: ½d² for |d| < δ, δ(|d| − ½δ) beyond. */
export function huberLoss(input: Tensor, target: Tensor, o: ReductionOptions & { delta?: number } = {}): Tensor {
  sameShape('huberLoss', input, target);
  const delta = o.delta ?? 1;
  return tf.tidy(() => {
    // With q = min(|d|, δ): ½q² + δ(|d| − q) is both branches at once (and differentiable in tfjs).
    const a = tf.abs(tf.sub(input, target));
    const q = tf.minimum(a, delta);
    return reduce(tf.add(tf.mul(0.5, tf.square(q)), tf.mul(delta, tf.sub(a, q))), o.reduction);
  });
}

/** Smooth L1: huberLoss / β. */
export function smoothL1Loss(input: Tensor, target: Tensor, o: ReductionOptions & { beta?: number } = {}): Tensor {
  sameShape('smoothL1Loss', input, target);
  const beta = o.beta ?? 1;
  return tf.tidy(() => {
    const a = tf.abs(tf.sub(input, target));
    const q = tf.minimum(a, beta);
    return reduce(tf.add(tf.div(tf.mul(0.5, tf.square(q)), beta), tf.sub(a, q)), o.reduction);
  });
}

/** Binary cross-entropy on probabilities; log clamped at −100 like PyTorch. */
export function bceLoss(input: Tensor, target: Tensor, o: ReductionOptions & { weight?: Tensor } = {}): Tensor {
  sameShape('bceLoss', input, target);
  return tf.tidy(() => {
    const logP = tf.maximum(tf.log(input), -100);
    const log1mP = tf.maximum(tf.log(tf.sub(1, input)), -100);
    let l = tf.neg(tf.add(tf.mul(target, logP), tf.mul(tf.sub(1, target), log1mP)));
    if (o.weight) l = tf.mul(l, o.weight);
    return reduce(l, o.reduction);
  });
}

/**
 * Binary cross-entropy on logits, stable for any logit size: max(x,0) − x·y + log(1 + e^{−|x|}).
 * `posWeight` scales the positive term like PyTorch's pos_weight.
 */
export function bceWithLogitsLoss(logits: Tensor, target: Tensor, o: ReductionOptions & { weight?: Tensor; posWeight?: Tensor | number } = {}): Tensor {
  sameShape('bceWithLogitsLoss', logits, target);
  return tf.tidy(() => {
    // log σ(−x) = −softplus(x), computed stably.
    const softplusX = tf.add(tf.relu(logits), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    let l: Tensor;
    if (o.posWeight === undefined) {
      l = tf.sub(softplusX, tf.mul(logits, target));
    } else {
      // (1 − y)·x + (1 + (pw − 1)·y)·softplus(−x)
      const softplusNegX = tf.sub(softplusX, logits);
      const coef = tf.add(1, tf.mul(tf.sub(o.posWeight, 1), target));
      l = tf.add(tf.mul(tf.sub(1, target), logits), tf.mul(coef, softplusNegX));
    }
    if (o.weight) l = tf.mul(l, o.weight);
    return reduce(l, o.reduction);
  });
}

export interface ClassLossOptions extends ReductionOptions {
  /** Per-class weights [C]. */
  weight?: Tensor;
  /** Target value whose positions contribute nothing (default −100). */
  ignoreIndex?: number;
}

/** Moves the class axis (1) last and flattens: [N, C, d…] → [N·d…, C]. */
function classesLast(x: Tensor): Tensor {
  if (x.rank === 2) return x;
  const perm = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1];
  return tf.reshape(tf.transpose(x, perm), [-1, x.shape[1]!]);
}

function checkClassTarget(loss: string, input: Tensor, target: Tensor): void {
  if (input.rank < 2) throw new ShapeError(`${loss}: expected input [N, C] or [N, C, d…], got shape [${input.shape.join(', ')}]`);
  if (target.dtype !== 'int32') throw new DTypeError(`${loss}: expected int32 class indices as target, got ${target.dtype}`);
  const want = [input.shape[0]!, ...input.shape.slice(2)];
  if (target.rank !== want.length || target.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(`${loss}: expected target shape [${want.join(', ')}], got [${target.shape.join(', ')}]`);
  }
}

/** Negative log-likelihood on log-probabilities [N, C, …] with int32 targets. */
export function nllLoss(logProbs: Tensor, target: Tensor, o: ClassLossOptions = {}): Tensor {
  checkClassTarget('nllLoss', logProbs, target);
  return tf.tidy(() => nllCore(classesLast(logProbs), tf.reshape(target, [-1]), o, target.shape));
}

function nllCore(lp: Tensor, t: Tensor, o: ClassLossOptions, outShape: number[]): Tensor {
  const C = lp.shape[1]!;
  const ignore = o.ignoreIndex ?? -100;
  const valid = tf.cast(tf.notEqual(t, ignore), 'float32');
  const safeT = tf.where(tf.equal(t, ignore), tf.zerosLike(t), t);
  const picked = tf.sum(tf.mul(lp, tf.oneHot(safeT, C)), 1);
  const w = o.weight ? tf.mul(tf.gather(o.weight, safeT), valid) : valid;
  const l = tf.neg(tf.mul(picked, w));
  const reduction = o.reduction ?? 'mean';
  if (reduction === 'none') return tf.reshape(l, outShape);
  if (reduction === 'sum') return tf.sum(l);
  return tf.div(tf.sum(l), tf.sum(w));
}

/**
 * Cross-entropy from logits [N, C, …] and int32 class targets (or probabilities of the logits'
 * shape), with PyTorch's label smoothing, ignore index and class weights.
 */
export function crossEntropy(logits: Tensor, target: Tensor, o: ClassLossOptions & { labelSmoothing?: number } = {}): Tensor {
  const eps = o.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new InvalidArgumentError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  if (target.dtype === 'float32' && target.rank === logits.rank) return softTargetCrossEntropy(logits, target, o, eps);
  checkClassTarget('crossEntropy', logits, target);
  return tf.tidy(() => {
    const lp = logSoftmax(classesLast(logits), 1);
    const t = tf.reshape(target, [-1]);
    const nll = nllCore(lp, t, o, target.shape);
    if (eps === 0) return nll;
    const C = lp.shape[1]!;
    const ignore = o.ignoreIndex ?? -100;
    const valid = tf.cast(tf.notEqual(t, ignore), 'float32');
    const smooth = tf.mul(tf.neg(tf.sum(o.weight ? tf.mul(lp, o.weight) : lp, 1)), valid);
    let s: Tensor;
    const reduction = o.reduction ?? 'mean';
    if (reduction === 'none') s = tf.reshape(smooth, target.shape);
    else if (reduction === 'sum') s = tf.sum(smooth);
    else if (o.weight) {
      const safeT = tf.where(tf.equal(t, ignore), tf.zerosLike(t), t);
      s = tf.div(tf.sum(smooth), tf.sum(tf.mul(tf.gather(o.weight, safeT), valid)));
    } else s = tf.div(tf.sum(smooth), tf.sum(valid));
    return tf.add(tf.mul(1 - eps, nll), tf.mul(eps / C, s));
  });
}

function softTargetCrossEntropy(logits: Tensor, target: Tensor, o: ClassLossOptions, eps: number): Tensor {
  sameShape('crossEntropy', logits, target);
  return tf.tidy(() => {
    const C = logits.shape[1]!;
    const lp = logSoftmax(logits, 1);
    const t = eps > 0 ? tf.add(tf.mul(target, 1 - eps), eps / C) : target;
    let prod = tf.mul(lp, t);
    if (o.weight) prod = tf.mul(prod, tf.reshape(o.weight, [C, ...Array(logits.rank - 2).fill(1)]));
    const l = tf.neg(tf.sum(prod, 1));
    return reduce(l, o.reduction);
  });
}

/**
 * KL divergence with PyTorch's kl_div argument order: `input` is log q, `target` is p (or log p
 * with logTarget). 'batchmean' divides the sum by the batch size (the mathematically right mean).
 */
export function klDivLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  sameShape('klDivLoss', input, target);
  return tf.tidy(() => {
    const l = o.logTarget
      ? tf.mul(tf.exp(target), tf.sub(target, input))
      : tf.where(tf.greater(target, 0), tf.mul(target, tf.sub(tf.log(tf.maximum(target, 1e-38)), input)), tf.zerosLike(target));
    if (o.reduction === 'batchmean') return tf.div(tf.sum(l), input.shape[0] ?? 1);
    return reduce(l, o.reduction ?? 'mean');
  });
}

/**
 * KL(N(μ, σ²) ‖ N(0, 1)) = −½ Σ(1 + log σ² − μ² − σ²), summed over all but the batch dim and
 * averaged over the batch ('mean'), summed ('sum') or per sample ('none').
 */
export function gaussianKL(mu: Tensor, logVar: Tensor, o: ReductionOptions = {}): Tensor {
  sameShape('gaussianKL', mu, logVar);
  return tf.tidy(() => {
    const term = tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, logVar), tf.square(mu)), tf.exp(logVar)));
    const perSample = mu.rank > 1 ? tf.sum(term, Array.from({ length: mu.rank - 1 }, (_, i) => i + 1)) : term;
    return reduce(perSample, o.reduction);
  });
}

/** SVM hinge loss for ±1 targets: max(0, margin − y·x). */
export function hingeLoss(input: Tensor, target: Tensor, o: ReductionOptions & { margin?: number } = {}): Tensor {
  sameShape('hingeLoss', input, target);
  return tf.tidy(() => reduce(tf.relu(tf.sub(o.margin ?? 1, tf.mul(input, target))), o.reduction));
}

/** torch.nn.MarginRankingLoss: max(0, −y·(x1 − x2) + margin). */
export function marginRankingLoss(x1: Tensor, x2: Tensor, target: Tensor, o: ReductionOptions & { margin?: number } = {}): Tensor {
  sameShape('marginRankingLoss', x1, x2);
  return tf.tidy(() => reduce(tf.relu(tf.add(tf.neg(tf.mul(target, tf.sub(x1, x2))), o.margin ?? 0)), o.reduction));
}

function cosineSimilarity(a: Tensor, b: Tensor, eps = 1e-8): Tensor {
  const dot = tf.sum(tf.mul(a, b), -1);
  const na = tf.sqrt(tf.sum(tf.square(a), -1));
  const nb = tf.sqrt(tf.sum(tf.square(b), -1));
  return tf.div(dot, tf.maximum(tf.mul(na, nb), eps));
}

/** torch.nn.CosineEmbeddingLoss: 1 − cos for y = 1, max(0, cos − margin) for y = −1. */
export function cosineEmbeddingLoss(x1: Tensor, x2: Tensor, target: Tensor, o: ReductionOptions & { margin?: number } = {}): Tensor {
  sameShape('cosineEmbeddingLoss', x1, x2);
  return tf.tidy(() => {
    const cos = cosineSimilarity(x1, x2);
    const l = tf.where(tf.greater(target, 0), tf.sub(1, cos), tf.relu(tf.sub(cos, o.margin ?? 0)));
    return reduce(l, o.reduction);
  });
}

/**
 * InfoNCE / NT-Xent for paired embeddings [N, D]: row i of `query` should match row i of `keys`
 * against all other rows; cosine similarities divided by `temperature`.
 */
export function infoNCELoss(query: Tensor, keys: Tensor, o: { temperature?: number; reduction?: Reduction } = {}): Tensor {
  sameShape('infoNCELoss', query, keys);
  if (query.rank !== 2) throw new ShapeError(`infoNCELoss: expected [N, D] embeddings, got shape [${query.shape.join(', ')}]`);
  return tf.tidy(() => {
    const qn = tf.div(query, tf.maximum(tf.norm(query, 'euclidean', -1, true), 1e-8));
    const kn = tf.div(keys, tf.maximum(tf.norm(keys, 'euclidean', -1, true), 1e-8));
    const logits = tf.div(tf.matMul(qn, kn, false, true), o.temperature ?? 0.07);
    const labels = tf.range(0, query.shape[0]!, 1, 'int32');
    return crossEntropy(logits, labels, { reduction: o.reduction });
  });
}

/** Gram matrix of NHWC features: [N, C, C] normalised by H·W·C (style transfer). */
export function gramMatrix(features: Tensor): Tensor {
  if (features.rank !== 4) throw new ShapeError(`gramMatrix: expected NHWC features, got shape [${features.shape.join(', ')}]`);
  return tf.tidy(() => {
    const [n, h, w, c] = features.shape as number[];
    const f = tf.reshape(features, [n!, h! * w!, c!]);
    return tf.div(tf.matMul(f, f, true, false), h! * w! * c!);
  });
}

/** Style loss: MSE between Gram matrices. */
export function styleLoss(features: Tensor, targetFeatures: Tensor): Tensor {
  return tf.tidy(() => mseLoss(gramMatrix(features), gramMatrix(targetFeatures)));
}

/** Content loss: MSE between feature maps. */
export const contentLoss = (features: Tensor, targetFeatures: Tensor): Tensor => mseLoss(features, targetFeatures);
