import { InvalidArgumentError, ShapeError, tf, type Rng, type Tensor } from '@nutshell/core';
import type { Module } from '@nutshell/nn';

/** Centres of `modes` Gaussians evenly spaced on a circle (the 8-Gaussian ring). */
export function ringCenters(modes = 8, radius = 2): [number, number][] {
  return Array.from({ length: modes }, (_, k) => [radius * Math.cos((2 * Math.PI * k) / modes), radius * Math.sin((2 * Math.PI * k) / modes)]);
}

export interface ModeCoverage {
  /** Modes that received at least `minCount` high-quality samples. */
  covered: number;
  modes: number;
  /** Fraction of samples within `threshold` of some centre. */
  highQuality: number;
  counts: number[];
}

/**
 * Mode coverage on a synthetic mixture (Metz et al. 2017; Srivastava et al. 2017): a sample is
 * high-quality when it lies within `threshold` (default 3σ of the mixture, 0.06 for σ = 0.02…
 * pass yours) of its nearest centre; a mode is covered when it gets ≥ `minCount` of them.
 */
export function modeCoverage(samples: Tensor | ArrayLike<number>, centers: [number, number][], options: { threshold?: number; minCount?: number } = {}): ModeCoverage {
  const data = 'dataSync' in (samples as object) ? (samples as Tensor).dataSync() : (samples as ArrayLike<number>);
  if ('shape' in (samples as object) && ((samples as Tensor).rank !== 2 || (samples as Tensor).shape[1] !== 2)) throw new ShapeError(`modeCoverage: expected samples [N, 2], got [${(samples as Tensor).shape.join(', ')}]`);
  const threshold = options.threshold ?? 0.1;
  const minCount = options.minCount ?? 1;
  if (!(threshold > 0)) throw new InvalidArgumentError(`modeCoverage: threshold must be > 0, got ${threshold}`);
  const counts = centers.map(() => 0);
  const n = data.length / 2;
  let good = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let at = -1;
    centers.forEach(([cx, cy], k) => {
      const d = Math.hypot(data[2 * i]! - cx, data[2 * i + 1]! - cy);
      if (d < best) [best, at] = [d, k];
    });
    if (best <= threshold) {
      counts[at]!++;
      good++;
    }
  }
  return { covered: counts.filter((c) => c >= minCount).length, modes: centers.length, highQuality: n ? good / n : 0, counts };
}

/** Mean pairwise L2 distance between samples (rows): a cheap diversity score (low = collapse). */
export function sampleDiversity(samples: Tensor): number {
  return tf.tidy(() => {
    const x = tf.reshape(samples, [samples.shape[0]!, -1]);
    const n = x.shape[0]!;
    if (n < 2) throw new InvalidArgumentError('sampleDiversity: needs at least 2 samples');
    const sq = tf.sum(tf.square(x), 1, true);
    const d2 = tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(x, x, false, true))));
    return (tf.sum(tf.sqrt(d2)).dataSync()[0]! / (n * (n - 1)));
  });
}

/**
 * Draws `n` samples from a generator in eval mode, in batches, and returns them as a row-major
 * matrix { rows, cols, data } — the input format of @nutshell/metrics' fid / kid / precisionRecall
 * (after mapping them through a feature network of your choice with `features`).
 */
export function generateMatrix(generator: Module, n: number, latentDim: number, rng: Rng, options: { batchSize?: number; features?: (x: Tensor) => Tensor; labels?: (n: number) => Tensor } = {}): { rows: number; cols: number; data: Float32Array } {
  const bs = options.batchSize ?? 100;
  const wasTraining = generator.training;
  generator.eval();
  const parts: Float32Array[] = [];
  let cols = 0;
  try {
    for (let done = 0; done < n; done += bs) {
      const m = Math.min(bs, n - done);
      const out = tf.tidy(() => {
        const z = rng.normalTensor([m, latentDim]);
        const labels = options.labels?.(m);
        const x = labels ? generator.forward(z, labels) : generator.forward(z);
        const f = options.features ? options.features(x) : x;
        return tf.reshape(f, [m, -1]);
      });
      cols = out.shape[1]!;
      parts.push(out.dataSync() as Float32Array);
      out.dispose();
    }
  } finally {
    generator.train(wasTraining);
  }
  const data = new Float32Array(n * cols);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { rows: n, cols, data };
}
