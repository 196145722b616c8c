import { InvalidArgumentError } from '@nutshell/core';
import { sameCols, squaredDistances, toMatrix, type Matrix, type MatrixLike } from '../linalg/matrix.js';

export interface PrdcResult {
  /** Kynkäänniemi et al. 2019: share of fake samples inside the real k-NN manifold. */
  precision: number;
  /** Share of real samples inside the fake k-NN manifold. */
  recall: number;
  /** Naeem et al. 2020: mean number of real balls holding each fake sample, divided by k. */
  density: number;
  /** Share of real balls that hold at least one fake sample. */
  coverage: number;
  k: number;
}

/** Distance from each row to its k-th nearest other row (the k-NN ball radius). */
function kthNeighbourRadii(m: Matrix, k: number): Float64Array {
  const d2 = squaredDistances(m, m);
  const n = m.rows;
  const radii = new Float64Array(n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    row.set(d2.subarray(i * n, (i + 1) * n));
    row.sort();
    // row[0] is the point itself (distance 0).
    radii[i] = Math.sqrt(row[k]!);
  }
  return radii;
}

/**
 * Precision/recall (improved, k-NN manifolds) and density/coverage, computed as the reference `prdc`
 * package (Naeem et al.) does: Euclidean distances, radius = distance to the k-th nearest neighbour
 * (self excluded), membership is strictly inside the ball (distance < radius). Default k = 5.
 */
export function precisionRecall(real: MatrixLike, fake: MatrixLike, options: { k?: number } = {}): PrdcResult {
  const r = toMatrix('precisionRecall: real', real, 2);
  const f = toMatrix('precisionRecall: fake', fake, 2);
  sameCols(r, f, 'precisionRecall');
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`precisionRecall: k must be a positive integer, got ${k}`);
  if (k >= r.rows || k >= f.rows) throw new InvalidArgumentError(`precisionRecall: k = ${k} needs more than k samples per set (got ${r.rows} real, ${f.rows} fake)`);
  const realRadii = kthNeighbourRadii(r, k);
  const fakeRadii = kthNeighbourRadii(f, k);
  const d = squaredDistances(r, f).map(Math.sqrt);
  const nr = r.rows;
  const nf = f.rows;
  let precisionHits = 0;
  let densitySum = 0;
  for (let j = 0; j < nf; j++) {
    let inside = false;
    for (let i = 0; i < nr; i++) {
      if (d[i * nf + j]! < realRadii[i]!) {
        inside = true;
        densitySum++;
      }
    }
    if (inside) precisionHits++;
  }
  let recallHits = 0;
  let coverageHits = 0;
  for (let i = 0; i < nr; i++) {
    let inFake = false;
    let nearest = Infinity;
    for (let j = 0; j < nf; j++) {
      const dist = d[i * nf + j]!;
      if (dist < fakeRadii[j]!) inFake = true;
      if (dist < nearest) nearest = dist;
    }
    if (inFake) recallHits++;
    if (nearest < realRadii[i]!) coverageHits++;
  }
  return { precision: precisionHits / nf, recall: recallHits / nr, density: densitySum / (k * nf), coverage: coverageHits / nr, k };
}
