import { InvalidArgumentError, Rng } from '@nutshell/core';

export interface KMeansOptions {
  /** Seed of the k-means++ draws (default 0). Same seed and data → same centroids and labels. */
  seed?: number | string;
  /** Lloyd iterations at most (default 300, as scikit-learn). */
  maxIter?: number;
  /** Relative tolerance on the centroid shift, scaled by the mean feature variance (default 1e-4, as scikit-learn). */
  tol?: number;
  /** Runs from different seeds ([seed, 1], [seed, 2], …); the lowest inertia wins (default 1). */
  nInit?: number;
  /** Start from these centroids (k × d, row-major) instead of k-means++. */
  init?: ArrayLike<number>;
}

export interface KMeansResult {
  /** k × d, row-major. */
  centroids: Float32Array;
  /** Centroid index of every point. */
  labels: Int32Array;
  /** Σ squared distance of each point to its centroid. */
  inertia: number;
  iterations: number;
}

function sqDist(x: Float64Array | Float32Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const v = x[i * d + t]! - c[j * d + t]!;
    s += v * v;
  }
  return s;
}

/**
 * Greedy k-means++ as scikit-learn does it: the first centre uniformly at random, then for each next
 * centre 2 + ⌊ln k⌋ candidates drawn with probability ∝ D² (searchsorted on the cumulative sum),
 * keeping the candidate that lowers the potential the most.
 */
export function kmeansPlusPlus(x: Float64Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const centers = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const first = Math.min(n - 1, Math.floor(rng.uniform() * n));
  centers.set(x.subarray(first * d, first * d + d), 0);
  const closest = new Float64Array(n);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += closest[i] = sqDist(x, i, centers, 0, d);
  const cum = new Float64Array(n);
  const cand = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cum[i] = acc += closest[i]!;
    let bestPot = Infinity;
    let bestId = 0;
    for (let t = 0; t < trials; t++) {
      const r = rng.uniform() * pot;
      // First index with cum ≥ r (numpy searchsorted, side='left'), clipped to n − 1.
      let lo = 0, hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid]! < r) lo = mid + 1;
        else hi = mid;
      }
      const id = Math.min(lo, n - 1);
      let p = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let u = 0; u < d; u++) {
          const v = x[i * d + u]! - x[id * d + u]!;
          s += v * v;
        }
        p += cand[i] = Math.min(closest[i]!, s);
      }
      if (p < bestPot) {
        bestPot = p;
        bestId = id;
        bestDist.set(cand);
      }
    }
    centers.set(x.subarray(bestId * d, bestId * d + d), c * d);
    closest.set(bestDist);
    pot = bestPot;
  }
  return centers;
}

/** Assigns every point to its nearest centre (ties: lowest index); returns the inertia. */
function assign(x: Float64Array, n: number, d: number, centers: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let bj = 0;
    for (let j = 0; j < k; j++) {
      const s = sqDist(x, i, centers, j, d);
      if (s < best) {
        best = s;
        bj = j;
      }
    }
    labels[i] = bj;
    dist[i] = best;
    inertia += best;
  }
  return inertia;
}

function lloyd(x: Float64Array, n: number, d: number, k: number, init: Float64Array, maxIter: number, tol: number): KMeansResult {
  let centers = init;
  const labels = new Int32Array(n);
  const prev = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  let iterations = 0;
  for (let it = 0; it < maxIter; it++) {
    iterations = it + 1;
    assign(x, n, d, centers, k, labels, dist);
    const next = new Float64Array(k * d);
    const count = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const j = labels[i]!;
      count[j]!++;
      for (let t = 0; t < d; t++) next[j * d + t]! += x[i * d + t]!;
    }
    // Empty clusters take the points farthest from their centres (as scikit-learn relocates them).
    const empty = [...count.keys()].filter((j) => count[j] === 0);
    if (empty.length) {
      const far = [...dist.keys()].sort((a, b) => dist[b]! - dist[a]! || a - b);
      empty.forEach((j, e) => {
        const p = far[e % n]!;
        for (let t = 0; t < d; t++) next[j * d + t] = x[p * d + t]!;
        count[j] = 1;
      });
    }
    for (let j = 0; j < k; j++) if (count[j]! > 1) for (let t = 0; t < d; t++) next[j * d + t]! /= count[j]!;
    let shift = 0;
    for (let t = 0; t < k * d; t++) shift += (next[t]! - centers[t]!) ** 2;
    centers = next;
    if (labels.every((v, i) => v === prev[i])) break; // strict convergence
    prev.set(labels);
    if (shift <= tol) break;
  }
  // Final E-step so the labels belong to the returned centres.
  const inertia = assign(x, n, d, centers, k, labels, dist);
  return { centroids: Float32Array.from(centers), labels, inertia, iterations };
}

/**
 * k-means (Lloyd) on `n = data.length / d` points of dimension `d`, k-means++ initialisation
 * (scikit-learn's greedy variant, seeded), scikit-learn's tolerance rule. Computed in float64.
 */
export function kmeans(data: ArrayLike<number>, d: number, k: number, options: KMeansOptions = {}): KMeansResult {
  if (!Number.isInteger(d) || d < 1) throw new InvalidArgumentError(`kmeans: dimension must be a positive integer, got ${d}`);
  if (data.length % d !== 0) throw new InvalidArgumentError(`kmeans: ${data.length} values are not a whole number of ${d}-vectors`);
  const n = data.length / d;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new InvalidArgumentError(`kmeans: k must be an integer in [1, ${n}] (the number of points), got ${k}`);
  const x = Float64Array.from(data);
  for (const v of x) if (!Number.isFinite(v)) throw new InvalidArgumentError('kmeans: data must be finite');
  const maxIter = options.maxIter ?? 300;
  const nInit = options.nInit ?? 1;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new InvalidArgumentError(`kmeans: maxIter must be a positive integer, got ${maxIter}`);
  if (!Number.isInteger(nInit) || nInit < 1) throw new InvalidArgumentError(`kmeans: nInit must be a positive integer, got ${nInit}`);
  // scikit-learn: tol × mean variance of the features.
  let meanVar = 0;
  for (let t = 0; t < d; t++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      s += x[i * d + t]!;
      s2 += x[i * d + t]! ** 2;
    }
    meanVar += Math.max(0, s2 / n - (s / n) ** 2) / d;
  }
  const tol = (options.tol ?? 1e-4) * meanVar;
  if (options.init) {
    if (options.init.length !== k * d) throw new InvalidArgumentError(`kmeans: init must hold k × d = ${k * d} values, got ${options.init.length}`);
    return lloyd(x, n, d, k, Float64Array.from(options.init), maxIter, tol);
  }
  const seed = options.seed ?? 0;
  let best: KMeansResult | null = null;
  for (let r = 0; r < nInit; r++) {
    const rng = new Rng(nInit === 1 ? seed : `${seed}/${r}`);
    const res = lloyd(x, n, d, k, kmeansPlusPlus(x, n, d, k, rng), maxIter, tol);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}
