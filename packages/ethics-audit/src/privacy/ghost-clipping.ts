import { InvalidArgumentError, Rng, ShapeError, rngFor, tf, type Tensor, type Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import type { PrivatizedGradients } from './dp-sgd.js';
import { layerCover } from './grad-samplers/registry.js';
import { traceLayers, type LayerCall } from './layer-trace.js';
import { batchSizeOf, type PerSampleLoss } from './per-sample.js';

export interface GhostClippingOptions {
  maxGradNorm: number;
  noiseMultiplier: number;
  /** Divisor of the noisy sum (Poisson: the expected batch size); default the batch size. */
  expectedBatchSize?: number;
  seed?: number | string | Rng;
  lossReduction?: 'mean' | 'sum';
}

/** A call can use the ghost norm when it is its layer's only call, owns its parameters alone and trains all of them. */
function ghostable(c: LayerCall, uses: Map<Variable, number>): boolean {
  return c.callsOfLayer === 1 && c.trainable.every(Boolean) && !!c.sampler.ghostNormSq && !!c.sampler.weightedSum
    && c.sampler.parameters(c.layer).every((p) => uses.get(p) === 1);
}

/**
 * DP-SGD's clipped, noised gradient without materialising every per-example gradient ("fast gradient
 * clipping", Goodfellow 2015; Li et al. 2022; Bu et al. 2023) for models whose trainable parameters all
 * sit in sampled layers. Per layer it takes the cheaper of two ways to example b's squared norm:
 * the ghost norm (Linear over T positions: Σ (GᵦGᵦᵀ) ⊙ (AᵦAᵦᵀ), ‖gᵦ‖²‖aᵦ‖² for T = 1; Conv2d the same
 * over unfolded patches; Embedding Σ [iₜ = iₜ'] gₜ·gₜ') or the materialised per-example gradient
 * (norm layers, or when 2T² > p·d, Opacus' rule; also reused layers and tied weights, whose norm is not
 * a sum over calls). The clipped sum is then one weighted matmul per layer, (c ⊙ G)ᵀ A. Same result as
 * privatizeGradients(perSampleGradients(...)) up to float rounding.
 * Returns null when some trainable parameter is outside sampled layers or the trace fails (use the
 * per-example loop).
 */
export function ghostClippedGradients<B>(model: Module, loss: PerSampleLoss<B>, batch: B, options: GhostClippingOptions): (PrivatizedGradients & { loss: number; batchSize: number }) | null {
  const { maxGradNorm: C, noiseMultiplier: sigma } = options;
  if (!(C > 0)) throw new InvalidArgumentError(`ghostClippedGradients: maxGradNorm must be > 0, got ${C}`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError(`ghostClippedGradients: noiseMultiplier must be a finite number >= 0, got ${sigma}`);
  if (sigma > 0 && !Number.isFinite(C)) throw new InvalidArgumentError('ghostClippedGradients: noise needs a finite maxGradNorm');
  const params = model.parameters({ trainableOnly: true });
  const cover = layerCover(model, params);
  if (!cover) return null;
  const B = batchSizeOf(batch);
  if (B === 0) throw new ShapeError('ghostClippedGradients: the batch is empty');
  const t = traceLayers(model, loss, batch, B, options.lossReduction ?? 'mean', cover, params);
  if (!t) return null;
  const rng = options.seed instanceof Rng ? options.seed : rngFor(options.seed);
  const divisor = options.expectedBatchSize ?? B;
  const wanted = new Set(params);
  const uses = new Map<Variable, number>();
  for (const c of t.calls) for (const p of c.sampler.parameters(c.layer)) uses.set(p, (uses.get(p) ?? 0) + 1);
  // Materialised per-example gradients by parameter (summed over calls) for the calls without a ghost norm.
  const materialised = new Map<Variable, Tensor>();
  const ghostCalls: LayerCall[] = [];
  const normParts: Tensor[] = [];
  try {
    tf.tidy(() => {
      const parts = new Map<Variable, Tensor[]>();
      for (const c of t.calls) {
        const n = ghostable(c, uses) ? c.sampler.ghostNormSq!(c.layer, c.input, c.backprop, B) : null;
        if (n) {
          ghostCalls.push(c);
          normParts.push(tf.keep(n));
          continue;
        }
        const gs = c.sampler.perSample(c.layer, c.input, c.backprop, B);
        c.sampler.parameters(c.layer).forEach((p, i) => wanted.has(p) && parts.set(p, [...(parts.get(p) ?? []), gs[i]!]));
      }
      for (const [p, gs] of parts) {
        const g = tf.keep(tf.addN(gs));
        materialised.set(p, g);
        normParts.push(tf.keep(tf.sum(tf.square(tf.reshape(g, [B, -1])), 1)));
      }
    });
    const norms = tf.tidy(() => tf.sqrt(tf.addN(normParts)));
    const perSampleNorms = Float32Array.from(norms.dataSync());
    const byParam = new Map<Variable, Tensor>();
    tf.tidy(() => {
      const factor = Number.isFinite(C) ? tf.minimum(tf.div(C, tf.add(norms, 1e-6)), 1) : tf.onesLike(norms);
      const noisy = (x: Tensor) => tf.keep(tf.div(sigma > 0 ? tf.add(x, rng.normalTensor(x.shape, 0, sigma * C)) : x, divisor));
      // Parameters in the order the caller sees them, so seeded noise does not depend on the split.
      const sums = new Map<Variable, Tensor>();
      for (const c of ghostCalls) {
        const gs = c.sampler.weightedSum!(c.layer, c.input, c.backprop, factor);
        c.sampler.parameters(c.layer).forEach((p, i) => sums.set(p, gs[i]!));
      }
      for (const [p, g] of materialised) sums.set(p, tf.reshape(tf.matMul(tf.reshape(factor, [1, B]), tf.reshape(g, [B, -1])), p.shape));
      for (const p of params) {
        const s = sums.get(p);
        // Parameters of layers the forward did not use: zero gradient, plus noise (they are still released).
        byParam.set(p, noisy(s ?? tf.zeros(p.shape)));
      }
    });
    norms.dispose();
    let clipped = 0;
    for (const n of perSampleNorms) if (n + 1e-6 > C) clipped++;
    return { grads: params.map((p) => byParam.get(p)!), perSampleNorms, clippedFraction: clipped / B, loss: t.loss, batchSize: B };
  } finally {
    tf.dispose([...normParts, ...materialised.values()]);
    tf.dispose(t.calls.flatMap((x) => [x.input, x.backprop]));
  }
}
