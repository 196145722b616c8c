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

export interface CodeAgreement {
  /** Fraction of samples whose code maps to their cluster under the best one-to-one code→cluster matching. */
  accuracy: number;
  /** mapping[code] = cluster (−1 for codes left unmatched when there are more codes than clusters). */
  mapping: number[];
  /** counts[code][cluster]. */
  counts: number[][];
}

/**
 * How well a latent code (e.g. InfoGAN's categorical code) recovers a known cluster structure:
 * accuracy under the best one-to-one assignment of codes to clusters (Hungarian algorithm on the
 * contingency table), the "unsupervised accuracy" InfoGAN reports for MNIST digits. With k equally
 * likely clusters, chance is about 1/k.
 */
export function codeAgreement(codes: ArrayLike<number>, clusters: ArrayLike<number>, numCodes: number, numClusters: number): CodeAgreement {
  if (codes.length !== clusters.length || codes.length === 0) throw new InvalidArgumentError(`codeAgreement: need equally long, non-empty code and cluster lists, got ${codes.length} and ${clusters.length}`);
  if (!(Number.isInteger(numCodes) && numCodes > 0 && Number.isInteger(numClusters) && numClusters > 0)) throw new InvalidArgumentError('codeAgreement: numCodes and numClusters must be positive integers');
  const counts = Array.from({ length: numCodes }, () => new Array<number>(numClusters).fill(0));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    const k = clusters[i]!;
    if (!(c >= 0 && c < numCodes && k >= 0 && k < numClusters && Number.isInteger(c) && Number.isInteger(k))) throw new InvalidArgumentError(`codeAgreement: entry ${i} (code ${c}, cluster ${k}) is out of range`);
    counts[c]![k]!++;
  }
  // Square cost matrix (pad with zeros): maximise matches = minimise −counts.
  const n = Math.max(numCodes, numClusters);
  const cost = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => -(counts[i]?.[j] ?? 0)));
  const match = hungarian(cost);
  let hits = 0;
  const mapping = Array.from({ length: numCodes }, (_, i) => (match[i]! < numClusters ? match[i]! : -1));
  mapping.forEach((k, c) => {
    if (k >= 0) hits += counts[c]![k]!;
  });
  return { accuracy: hits / codes.length, mapping, counts };
}

/** Minimum-cost perfect matching of a square matrix (Kuhn–Munkres with potentials, O(n³)); returns column per row. */
function hungarian(a: number[][]): number[] {
  const n = a.length;
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(n + 1).fill(0);
  const p = new Array<number>(n + 1).fill(0); // p[j] = row matched to column j (1-based, 0 = none)
  const way = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(n + 1).fill(Infinity);
    const used = new Array<boolean>(n + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = a[i0 - 1]![j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Array<number>(n).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j]! > 0) rowToCol[p[j]! - 1] = j - 1;
  return rowToCol;
}
