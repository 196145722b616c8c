import { f32, GROUP_MAX_EPS, nearestInt } from './common.js';

/**
 * ggml's make_qkx2_quants: a scale and a (non-positive) min for n values with levels 0..nmax,
 * searching nstep + 1 candidate scales and solving weighted least squares for each. Writes the levels
 * into L[at..] and returns { scale, min } with min = −(the offset), as the reference returns it.
 * All arithmetic is float32, in the reference's order.
 */
export function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xAt: number, weights: Float32Array, L: Uint8Array, lAt: number,
  Laux: Uint8Array, rmin: number, rdelta: number, nstep: number,
): { scale: number; min: number } {
  let min = x[xAt]!;
  let max = x[xAt]!;
  let sumW = weights[0]!;
  let sumX = f32(sumW * x[xAt]!);
  for (let i = 1; i < n; i++) {
    const v = x[xAt + i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i]!;
    sumW = f32(sumW + w);
    sumX = f32(sumX + f32(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lAt, lAt + n);
    return { scale: 0, min: -min };
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[xAt + i]! - min)))));
    L[lAt + i] = l;
    const diff = f32(f32(f32(scale * l) + min) - x[xAt + i]!);
    bestError = f32(bestError + f32(weights[i]! * f32(diff * diff)));
  }
  if (nstep < 1) return { scale, min: -min };
  for (let is = 0; is <= nstep; is++) {
    iscale = f32(f32(f32(rmin + f32(rdelta * is)) + nmax) / f32(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[xAt + i]! - min)))));
      Laux[i] = l;
      const wl = f32(weights[i]! * l);
      sumL = f32(sumL + wl);
      sumL2 = f32(sumL2 + f32(wl * l));
      sumXL = f32(sumXL + f32(wl * x[xAt + i]!));
    }
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (D > 0) {
      let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
      let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f32(sumXL / sumL2);
      }
      let cur = 0;
      for (let i = 0; i < n; i++) {
        const diff = f32(f32(f32(thisScale * Laux[i]!) + thisMin) - x[xAt + i]!);
        cur = f32(cur + f32(weights[i]! * f32(diff * diff)));
      }
      if (cur < bestError) {
        for (let i = 0; i < n; i++) L[lAt + i] = Laux[i]!;
        bestError = cur;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return { scale, min: -min };
}

/**
 * ggml's make_qx_quants with rmse_type 1 and no importance weights (weights x²): a signed scale for
 * levels −nmax..nmax−1, refined over 18 nearby scales; L[at..] receives level + nmax.
 */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, xAt: number, L: Int8Array | Uint8Array, lAt: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xAt + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xAt + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lAt, lAt + n);
    return 0;
  }
  let iscale = f32(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xAt + i]!;
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f32(iscale * v))));
    L[lAt + i] = l + nmax;
    const w = f32(v * v);
    sumlx = f32(sumlx + f32(f32(w * v) * l));
    suml2 = f32(suml2 + f32(f32(w * l) * l));
  }
  let scale = suml2 ? f32(sumlx / suml2) : 0;
  let best = f32(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f32(-f32(nmax + f32(f32(0.1) * is)) / max);
    sumlx = suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xAt + i]!;
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f32(iscale * v))));
      const w = f32(v * v);
      sumlx = f32(sumlx + f32(f32(w * v) * l));
      suml2 = f32(suml2 + f32(f32(w * l) * l));
    }
    if (suml2 > 0 && f32(sumlx * sumlx) > f32(best * suml2)) {
      for (let i = 0; i < n; i++) L[lAt + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(f32(iscale * x[xAt + i]!))));
      scale = f32(sumlx / suml2);
      best = f32(scale * sumlx);
    }
  }
  return scale;
}

/** get_scale_min_k4: the 6-bit scale and min of sub-block j from Q4_K/Q5_K's 12 packed bytes. */
export function getScaleMinK4(j: number, q: Uint8Array, at: number): [number, number] {
  if (j < 4) return [q[at + j]! & 63, q[at + j + 4]! & 63];
  return [(q[at + j + 4]! & 0xf) | ((q[at + j - 4]! >> 6) << 4), (q[at + j + 4]! >> 4) | ((q[at + j]! >> 6) << 4)];
}
