import { InvalidArgumentError, Rng, ShapeError, rngFor, tf, type Tensor } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import type { PrivatizedGradients } from './dp-sgd.js';
import { batchSizeOf, linearLayersOf, traceLinears, type PerSampleLoss } from './per-sample.js';

export interface GhostClippingOptions {
  maxGradNorm: number;
  noiseMultiplier: number;
  /** Divisor of the noisy sum (Poisson: the expected batch size); default the batch size. */
  expectedBatchSize?: number;
  seed?: number | string | Rng;
  lossReduction?: 'mean' | 'sum';
}

/**
 * DP-SGD's clipped, noised gradient for models whose trainable parameters all sit in Linear layers,
 * without materialising per-example gradients ("ghost clipping", Goodfellow 2015; Li et al. 2022).
 * Example b's weight gradient is Gᵦᵀ Aᵦ (backprops × inputs over its T positions), so its squared norm
 * is Σ (Gᵦ Gᵦᵀ) ⊙ (Aᵦ Aᵦᵀ) — for T = 1 simply ‖gᵦ‖²‖aᵦ‖² — and the clipped sum is one matmul
 * (c ⊙ G)ᵀ A. Memory O(B·(in + out)) per layer instead of O(B·in·out); same result as
 * privatizeGradients(perSampleGradients(...)) up to float rounding.
 * Returns null when the model is not all-Linear (use the per-example path).
 */
export function ghostClippedGradients<B>(model: Module, loss: PerSampleLoss<B>, batch: B, options: GhostClippingOptions): (PrivatizedGradients & { loss: number; batchSize: number }) | null {
  const { maxGradNorm: C, noiseMultiplier: sigma } = options;
  if (!(C > 0)) throw new InvalidArgumentError(`ghostClippedGradients: maxGradNorm must be > 0, got ${C}`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError(`ghostClippedGradients: noiseMultiplier must be a finite number >= 0, got ${sigma}`);
  if (sigma > 0 && !Number.isFinite(C)) throw new InvalidArgumentError('ghostClippedGradients: noise needs a finite maxGradNorm');
  const params = model.parameters({ trainableOnly: true });
  const linears = linearLayersOf(model, params);
  if (!linears) return null;
  const B = batchSizeOf(batch);
  if (B === 0) throw new ShapeError('ghostClippedGradients: the batch is empty');
  const t = traceLinears(model, loss, batch, B, options.lossReduction ?? 'mean', linears);
  if (!t) return null;
  const rng = options.seed instanceof Rng ? options.seed : rngFor(options.seed);
  const divisor = options.expectedBatchSize ?? B;
  try {
    const shaped = t.traces.map(({ layer, activation, backprop }) => ({
      layer,
      g: tf.reshape(backprop, [B, -1, layer.outFeatures]),
      a: tf.reshape(activation, [B, -1, layer.inFeatures]),
    }));
    const norms = tf.tidy(() => tf.sqrt(tf.addN(shaped.flatMap(({ layer, g, a }) => {
      const T = g.shape[1]!;
      const w = T === 1
        ? tf.mul(tf.sum(tf.square(g), [1, 2]), tf.sum(tf.square(a), [1, 2]))
        : tf.sum(tf.mul(tf.matMul(g, g, false, true), tf.matMul(a, a, false, true)), [1, 2]);
      return layer.bias ? [w, tf.sum(tf.square(tf.sum(g, 1)), 1)] : [w];
    }))));
    const perSampleNorms = Float32Array.from(norms.dataSync());
    const byParam = new Map<unknown, Tensor>();
    tf.tidy(() => {
      const factor = Number.isFinite(C) ? tf.minimum(tf.div(C, tf.add(norms, 1e-6)), 1) : tf.onesLike(norms);
      for (const { layer, g, a } of shaped) {
        const gc = tf.mul(g, tf.reshape(factor, [B, 1, 1]));
        const noisy = (x: Tensor) => tf.div(sigma > 0 ? tf.add(x, rng.normalTensor(x.shape, 0, sigma * C)) : x, divisor);
        byParam.set(layer.weight, tf.keep(noisy(tf.matMul(tf.reshape(gc, [-1, layer.outFeatures]), tf.reshape(a, [-1, layer.inFeatures]), true, false))));
        if (layer.bias) byParam.set(layer.bias, tf.keep(noisy(tf.sum(tf.reshape(gc, [-1, layer.outFeatures]), 0))));
      }
    });
    norms.dispose();
    tf.dispose(shaped.flatMap(({ g, a }) => [g, a]));
    // Linears the forward did not use: zero gradient, plus noise (their parameters are still released).
    const grads = params.map((p) => byParam.get(p) ?? tf.tidy(() => tf.div(sigma > 0 ? rng.normalTensor(p.shape, 0, sigma * C) : tf.zeros(p.shape), divisor)));
    let clipped = 0;
    for (const n of perSampleNorms) if (n + 1e-6 > C) clipped++;
    return { grads, perSampleNorms, clippedFraction: clipped / B, loss: t.loss, batchSize: B };
  } finally {
    tf.dispose(t.traces.flatMap((x) => [x.activation, x.backprop]));
  }
}
