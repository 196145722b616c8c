import { InvalidArgumentError } from '@nutshell/core';

type Label = string | number;

/**
 * Cohen's κ between two raters (as sklearn.metrics.cohen_kappa_score): (p_o − p_e)/(1 − p_e), with
 * optional 'linear' / 'quadratic' weights for ordinal labels (weights use the label's index in
 * `labels`, default: the sorted union of both raters' labels).
 */
export function cohenKappa(a: readonly Label[], b: readonly Label[], options: { weights?: 'none' | 'linear' | 'quadratic'; labels?: readonly Label[] } = {}): number {
  if (a.length !== b.length) throw new InvalidArgumentError(`cohenKappa: rater arrays differ in length (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new InvalidArgumentError('cohenKappa: no ratings');
  const labels = options.labels ?? [...new Set([...a, ...b])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const index = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;
  const cm = new Float64Array(k * k);
  a.forEach((x, i) => {
    const r = index.get(x);
    const c = index.get(b[i]!);
    if (r === undefined || c === undefined) throw new InvalidArgumentError(`cohenKappa: label ${JSON.stringify(r === undefined ? x : b[i])} not in labels`);
    cm[r * k + c]! += 1;
  });
  const n = a.length;
  const rows = new Float64Array(k);
  const cols = new Float64Array(k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    rows[i]! += cm[i * k + j]!;
    cols[j]! += cm[i * k + j]!;
  }
  const w = options.weights ?? 'none';
  const weight = (i: number, j: number) => (w === 'none' ? (i === j ? 0 : 1) : w === 'linear' ? Math.abs(i - j) : (i - j) ** 2);
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    observed += weight(i, j) * cm[i * k + j]!;
    expected += (weight(i, j) * rows[i]! * cols[j]!) / n;
  }
  return 1 - observed / expected;
}

/**
 * Fleiss' κ for many raters: `counts[i][j]` = raters who put subject i in category j (every subject
 * rated by the same number of raters), as Fleiss (1971).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): { kappa: number; pObserved: number; pExpected: number } {
  const n = counts.length;
  if (n === 0) throw new InvalidArgumentError('fleissKappa: no subjects');
  const k = counts[0]!.length;
  const raters = counts[0]!.reduce((s, v) => s + v, 0);
  if (raters < 2) throw new InvalidArgumentError(`fleissKappa: needs at least 2 raters per subject, got ${raters}`);
  const pj = new Float64Array(k);
  let pBar = 0;
  counts.forEach((row, i) => {
    if (row.length !== k) throw new InvalidArgumentError(`fleissKappa: subject ${i} has ${row.length} categories, expected ${k}`);
    const m = row.reduce((s, v) => s + v, 0);
    if (m !== raters) throw new InvalidArgumentError(`fleissKappa: subject ${i} has ${m} ratings, subject 0 has ${raters} (use krippendorffAlpha for missing ratings)`);
    let agree = 0;
    row.forEach((v, j) => {
      pj[j]! += v;
      agree += v * (v - 1);
    });
    pBar += agree / (raters * (raters - 1));
  });
  pBar /= n;
  let pe = 0;
  for (let j = 0; j < k; j++) pe += (pj[j]! / (n * raters)) ** 2;
  return { kappa: (pBar - pe) / (1 - pe), pObserved: pBar, pExpected: pe };
}

/**
 * Krippendorff's α (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"): `ratings[c][u]`
 * is coder c's value for unit u, null/undefined/NaN when missing; units with fewer than 2 values are
 * dropped. α = 1 − D_o / D_e from the coincidence matrix, with the nominal, ordinal, interval or ratio
 * difference function.
 */
export function krippendorffAlpha(ratings: readonly (readonly (Label | null | undefined)[])[], options: { level?: 'nominal' | 'ordinal' | 'interval' | 'ratio' } = {}): number {
  const level = options.level ?? 'nominal';
  const units = Math.max(0, ...ratings.map((r) => r.length));
  const values: Label[] = [];
  for (const row of ratings) for (const v of row) if (v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) values.push(v);
  const cats = [...new Set(values)].sort((x, y) => (typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0));
  const idx = new Map(cats.map((c, i) => [c, i]));
  const k = cats.length;
  if (level !== 'nominal' && cats.some((c) => typeof c !== 'number')) throw new InvalidArgumentError(`krippendorffAlpha: level ${level} needs numeric values`);
  // Coincidence matrix o[c][k] = Σ_u Σ_{pairs i≠j in u} 1/(m_u − 1).
  const o = new Float64Array(k * k);
  for (let u = 0; u < units; u++) {
    const vals: number[] = [];
    for (const row of ratings) {
      const v = row[u];
      if (v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) vals.push(idx.get(v)!);
    }
    const m = vals.length;
    if (m < 2) continue;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) o[vals[i]! * k + vals[j]!]! += 1 / (m - 1);
  }
  const nc = new Float64Array(k);
  for (let c = 0; c < k; c++) for (let d = 0; d < k; d++) nc[c]! += o[c * k + d]!;
  const n = nc.reduce((s, v) => s + v, 0);
  if (n < 2) throw new InvalidArgumentError('krippendorffAlpha: fewer than 2 pairable values');
  const delta2 = (c: number, d: number): number => {
    if (c === d) return 0;
    if (level === 'nominal') return 1;
    const vc = cats[c] as number;
    const vd = cats[d] as number;
    if (level === 'interval') return (vc - vd) ** 2;
    if (level === 'ratio') return ((vc - vd) / (vc + vd)) ** 2;
    // ordinal: (Σ_{g=c..d} n_g − (n_c + n_d)/2)²
    const [lo, hi] = c < d ? [c, d] : [d, c];
    let s = 0;
    for (let g = lo; g <= hi; g++) s += nc[g]!;
    return (s - (nc[c]! + nc[d]!) / 2) ** 2;
  };
  let dO = 0;
  let dE = 0;
  for (let c = 0; c < k; c++) for (let d = 0; d < k; d++) {
    const w = delta2(c, d);
    dO += o[c * k + d]! * w;
    dE += nc[c]! * nc[d]! * w;
  }
  if (dE === 0) throw new InvalidArgumentError('krippendorffAlpha: no variation in the values (α undefined)');
  return 1 - ((n - 1) * dO) / dE;
}
