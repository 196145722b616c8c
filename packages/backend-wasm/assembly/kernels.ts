// nutshell's fused training kernels for the wasm backend, in AssemblyScript (compiled by
// scripts/build-kernels.mjs). The same contracts and math as backend-native's src-c/attention.c
// and src-c/activation.c: see @nutshell/core's fused-kernels.ts. Every pointer is a byte offset
// into this module's memory, where the JS side copies inputs and reads outputs; nothing here
// allocates, so the module needs no runtime.

const ACT_NONE = 0;
const ACT_RELU = 1;
const ACT_GELU_TANH = 2;
const ACT_GELU_ERF = 3;
const ACT_SILU = 4;

/** First free byte after the module's static data: the JS side lays buffers out from here. */
export function heapBase(): usize {
  return __heap_base;
}

// ---------- vector helpers (4 floats per v128, scalar remainders) ----------

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/** y += a·x over n floats. */
@inline function axpy(a: f32, x: usize, y: usize, n: i32): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(y + (<usize>i << 2)) + a * load<f32>(x + (<usize>i << 2)));
}

@inline function zero(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 2);
}

/** Rows of one head of q, k or v (part 0, 1, 2) of one sequence qkv [T, 3C] into dst [T, d]. */
function gatherHead(qkvB: usize, part: i32, h: i32, T: i32, C: i32, d: i32, dst: usize): void {
  for (let t = 0; t < T; t++) memory.copy(dst + (<usize>(t * d) << 2), qkvB + (<usize>(t * 3 * C + part * C + h * d) << 2), <usize>d << 2);
}

// ---------- causal attention ----------

/** p[j] = e^(p[j] − m) for j < n, four lanes at a time (the tail through a splatted vector). */
function expShifted(p: usize, m: f32, n: i32): void {
  const vm = f32x4.splat(m);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(p + (<usize>j << 2), expFast4(f32x4.sub(v128.load(p + (<usize>j << 2)), vm)));
  for (; j < n; j++) store<f32>(p + (<usize>j << 2), f32x4.extract_lane(expFast4(f32x4.splat(load<f32>(p + (<usize>j << 2)) - m)), 0));
}

/**
 * y [B, T, H·d] and lse [B, H, T] from qkv [B, T, 3·H·d]; scratch holds 3·T·d + T floats.
 */
export function causalAttention(qkv: usize, y: usize, lse: usize, scratch: usize, B: i32, T: i32, H: i32, d: i32, scale: f32): void {
  const C = H * d;
  const Q = scratch, K = Q + (<usize>(T * d) << 2), V = K + (<usize>(T * d) << 2), p = V + (<usize>(T * d) << 2);
  for (let b = 0; b < B; b++) {
    const src = qkv + (<usize>(b * T * 3 * C) << 2);
    for (let h = 0; h < H; h++) {
      gatherHead(src, 0, h, T, C, d, Q);
      gatherHead(src, 1, h, T, C, d, K);
      gatherHead(src, 2, h, T, C, d, V);
      for (let i = 0; i < T; i++) {
        const qi = Q + (<usize>(i * d) << 2);
        let m: f32 = -Infinity;
        for (let j = 0; j <= i; j++) {
          const s = scale * dot(qi, K + (<usize>(j * d) << 2), d);
          store<f32>(p + (<usize>j << 2), s);
          if (s > m) m = s;
        }
        expShifted(p, m, i + 1);
        let sum: f64 = 0;
        for (let j = 0; j <= i; j++) sum += <f64>load<f32>(p + (<usize>j << 2));
        const inv = <f32>(1.0 / sum);
        const yi = y + (<usize>((b * T + i) * C + h * d) << 2);
        zero(yi, d);
        for (let j = 0; j <= i; j++) axpy(load<f32>(p + (<usize>j << 2)) * inv, V + (<usize>(j * d) << 2), yi, d);
        store<f32>(lse + (<usize>((b * H + h) * T + i) << 2), m + <f32>Math.log(sum));
      }
    }
  }
}

/**
 * dqkv [B, T, 3·H·d] for dy [B, T, H·d] given the forward's qkv, y and lse; scratch holds
 * 6·T·d + 2·T floats. p_ij = exp(scale q_i·k_j − lse_i), D_i = dy_i·y_i:
 * dv_j = Σ_i p_ij dy_i, ds_ij = p_ij (dy_i·v_j − D_i), dq_i = scale Σ_j ds_ij k_j, dk_j = scale Σ_i ds_ij q_i.
 */
export function causalAttentionGrad(dy: usize, qkv: usize, y: usize, lse: usize, dqkv: usize, scratch: usize, B: i32, T: i32, H: i32, d: i32, scale: f32): void {
  const C = H * d;
  const td = <usize>(T * d) << 2;
  const Q = scratch, K = Q + td, V = K + td, dQ = V + td, dK = dQ + td, dV = dK + td, D = dV + td;
  const P = D + (<usize>T << 2); // one query row's attention weights
  for (let b = 0; b < B; b++) {
    const src = qkv + (<usize>(b * T * 3 * C) << 2);
    for (let h = 0; h < H; h++) {
      gatherHead(src, 0, h, T, C, d, Q);
      gatherHead(src, 1, h, T, C, d, K);
      gatherHead(src, 2, h, T, C, d, V);
      zero(dQ, 3 * T * d);
      for (let i = 0; i < T; i++) {
        const off = <usize>((b * T + i) * C + h * d) << 2;
        store<f32>(D + (<usize>i << 2), dot(dy + off, y + off, d));
      }
      for (let i = 0; i < T; i++) {
        const qi = Q + (<usize>(i * d) << 2);
        const gi = dy + (<usize>((b * T + i) * C + h * d) << 2);
        const l = load<f32>(lse + (<usize>((b * H + h) * T + i) << 2));
        const Di = load<f32>(D + (<usize>i << 2));
        const dqi = dQ + (<usize>(i * d) << 2);
        for (let j = 0; j <= i; j++) store<f32>(P + (<usize>j << 2), scale * dot(qi, K + (<usize>(j * d) << 2), d));
        expShifted(P, l, i + 1);
        for (let j = 0; j <= i; j++) {
          const pij = load<f32>(P + (<usize>j << 2));
          const kj = K + (<usize>(j * d) << 2);
          axpy(pij, gi, dV + (<usize>(j * d) << 2), d);
          const ds = pij * (dot(gi, V + (<usize>(j * d) << 2), d) - Di) * scale;
          axpy(ds, kj, dqi, d);
          axpy(ds, qi, dK + (<usize>(j * d) << 2), d);
        }
      }
      const dst = dqkv + (<usize>(b * T * 3 * C) << 2);
      for (let t = 0; t < T; t++) {
        const row = dst + (<usize>(t * 3 * C + h * d) << 2);
        memory.copy(row, dQ + (<usize>(t * d) << 2), <usize>d << 2);
        memory.copy(row + (<usize>C << 2), dK + (<usize>(t * d) << 2), <usize>d << 2);
        memory.copy(row + (<usize>(2 * C) << 2), dV + (<usize>(t * d) << 2), <usize>d << 2);
      }
    }
  }
}

// ---------- activations ----------

const GELU_K: f32 = 0.7978845608028654; // sqrt(2/pi)
const GELU_C: f32 = 0.044715;

/** Cephes' expf (as backend-native's exp_fast): ~1 ulp for |x| < 87, saturating beyond. */
@inline function expFast(x: f32): f32 {
  x = x < -87.3 ? <f32>-87.3 : x > 88.3 ? <f32>88.3 : x;
  const n = Mathf.floor(x * 1.44269504088896341 + 0.5);
  let r = x - n * 0.693359375;
  r = r - n * -2.12194440e-4;
  let p: f32 = 1.9875691500e-4;
  p = p * r + 1.3981999507e-3;
  p = p * r + 8.3334519073e-3;
  p = p * r + 4.1665795894e-2;
  p = p * r + 1.6666665459e-1;
  p = p * r + 5.0000001201e-1;
  p = p * r * r + r + 1.0;
  return p * reinterpret<f32>((<i32>n + 127) << 23);
}

/** erf for the exact GELU (AssemblyScript's Mathf has none), computed in double. */
@inline function erf(x: f32): f32 {
  return <f32>erf64(<f64>x);
}

/** erf in double: series below 2, erfc continued fraction above (as the tests' reference). */
function erf64(x: f64): f64 {
  const ax = Math.abs(x);
  if (ax >= 2) {
    let f = ax;
    for (let k = 40; k >= 1; k--) f = ax + (<f64>k) / 2 / f;
    const r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
    return x < 0 ? -r : r;
  }
  let sum: f64 = 0;
  let term = ax;
  for (let n = 0; n < 60; n++) {
    sum += term / (2 * n + 1);
    term *= (-ax * ax) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  const r = (2 * sum) / Math.sqrt(Math.PI);
  return x < 0 ? -r : r;
}

// Vector forms of the hot activations, 4 lanes at a time; the last n % 4 elements go through the
// same functions on a splatted vector, so every element gets identical arithmetic.

@inline function splat(v: f32): v128 {
  return f32x4.splat(v);
}

@inline function expFast4(x: v128): v128 {
  x = f32x4.max(splat(-87.3), f32x4.min(splat(88.3), x));
  const n = f32x4.floor(f32x4.add(f32x4.mul(x, splat(1.44269504088896341)), splat(0.5)));
  let r = f32x4.sub(x, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), splat(1.0));
  return f32x4.mul(p, i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23));
}

/** tanh(u) = 1 − 2 / (e^(2u) + 1). */
@inline function tanhFast4(u: v128): v128 {
  return f32x4.sub(splat(1.0), f32x4.div(splat(2.0), f32x4.add(expFast4(f32x4.add(u, u)), splat(1.0))));
}

@inline function geluInner4(x: v128): v128 {
  return f32x4.mul(splat(GELU_K), f32x4.add(x, f32x4.mul(f32x4.mul(f32x4.mul(splat(GELU_C), x), x), x)));
}

@inline function gelu4(x: v128): v128 {
  return f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.add(splat(1.0), tanhFast4(geluInner4(x))));
}

@inline function geluGrad4(x: v128): v128 {
  const t = tanhFast4(geluInner4(x));
  const left = f32x4.mul(splat(0.5), f32x4.add(splat(1.0), t));
  const dInner = f32x4.mul(splat(GELU_K), f32x4.add(splat(1.0), f32x4.mul(f32x4.mul(splat(3.0 * GELU_C), x), x)));
  return f32x4.add(left, f32x4.mul(f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.sub(splat(1.0), f32x4.mul(t, t))), dInner));
}

@inline function sigmoid4(x: v128): v128 {
  return f32x4.div(splat(1.0), f32x4.add(splat(1.0), expFast4(f32x4.neg(x))));
}

@inline function act4(x: v128, act: i32): v128 {
  if (act == ACT_RELU) return f32x4.max(x, splat(0));
  if (act == ACT_GELU_TANH) return gelu4(x);
  if (act == ACT_SILU) return f32x4.mul(x, sigmoid4(x));
  return x;
}

@inline function actGrad4(x: v128, act: i32): v128 {
  if (act == ACT_RELU) return v128.and(f32x4.gt(x, splat(0)), splat(1.0));
  if (act == ACT_GELU_TANH) return geluGrad4(x);
  if (act == ACT_SILU) {
    const s = sigmoid4(x);
    return f32x4.mul(s, f32x4.add(splat(1.0), f32x4.mul(x, f32x4.sub(splat(1.0), s))));
  }
  return splat(1.0);
}

/** Exact GELU (erf) has no vector form here: scalar, in double-precision erf. */
@inline function geluErf(x: f32): f32 {
  return 0.5 * x * (1.0 + erf(x * 0.7071067811865476));
}

@inline function geluErfGrad(x: f32): f32 {
  return 0.5 * (1.0 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * expFast(-0.5 * x * x);
}

/** out = act(x) over n floats. */
export function activation(x: usize, out: usize, n: i32, act: i32): void {
  if (act == ACT_GELU_ERF) {
    for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), geluErf(load<f32>(x + (<usize>i << 2))));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), act4(v128.load(x + (<usize>i << 2)), act));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(act4(splat(load<f32>(x + (<usize>i << 2))), act), 0));
}

/** dx = dy · act′(x) over n floats. */
export function activationGrad(dy: usize, x: usize, dx: usize, n: i32, act: i32): void {
  if (act == ACT_GELU_ERF) {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(dx + o, load<f32>(dy + o) * geluErfGrad(load<f32>(x + o)));
    }
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), actGrad4(v128.load(x + o), act)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dy + o) * f32x4.extract_lane(actGrad4(splat(load<f32>(x + o)), act), 0));
  }
}

// ---------- LayerNorm (statistics in double, as backend-native's) ----------

/** out[rows, cols] = (x − mean)·rstd·gamma (+ beta) per row; beta = 0 means none. */
export function layerNorm(x: usize, gamma: usize, beta: usize, out: usize, rows: i32, cols: i32, eps: f64): void {
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>(r * cols) << 2);
    const q = out + (<usize>(r * cols) << 2);
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) sum += <f64>load<f32>(p + (<usize>j << 2));
    const mean = <f32>(sum / <f64>cols);
    let sq: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const dv = <f64>(load<f32>(p + (<usize>j << 2)) - mean);
      sq += dv * dv;
    }
    const inv = <f32>(1.0 / Math.sqrt(sq / <f64>cols + eps));
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      let y = (load<f32>(p + o) - mean) * inv;
      y *= load<f32>(gamma + o);
      if (beta) y += load<f32>(beta + o);
      store<f32>(q + o, y);
    }
  }
}

/**
 * The adjoint of layerNorm: with xhat = (x − mean)·rstd and g = dy·gamma,
 * dx = rstd·(g − mean(g) − xhat·mean(g·xhat)), dgamma = Σ_rows dy·xhat, dbeta = Σ_rows dy.
 * acc holds 2·cols doubles (the column sums).
 */
export function layerNormGrad(dy: usize, x: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize, acc: usize, rows: i32, cols: i32, eps: f64): void {
  memory.fill(acc, 0, <usize>(2 * cols) << 3);
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>(r * cols) << 2);
    const d = dy + (<usize>(r * cols) << 2);
    const q = dx + (<usize>(r * cols) << 2);
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) sum += <f64>load<f32>(p + (<usize>j << 2));
    const mean = sum / <f64>cols;
    let sq: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const dv = <f64>load<f32>(p + (<usize>j << 2)) - mean;
      sq += dv * dv;
    }
    const rstd = 1.0 / Math.sqrt(sq / <f64>cols + eps);
    let mg: f64 = 0, mgx: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      const dj = <f64>load<f32>(d + o);
      const xh = (<f64>load<f32>(p + o) - mean) * rstd, g = dj * <f64>load<f32>(gamma + o);
      mg += g;
      mgx += g * xh;
      store<f64>(acc + (<usize>j << 3), load<f64>(acc + (<usize>j << 3)) + dj * xh);
      store<f64>(acc + (<usize>(cols + j) << 3), load<f64>(acc + (<usize>(cols + j) << 3)) + dj);
    }
    mg /= <f64>cols;
    mgx /= <f64>cols;
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      const xh = (<f64>load<f32>(p + o) - mean) * rstd, g = <f64>load<f32>(d + o) * <f64>load<f32>(gamma + o);
      store<f32>(q + o, <f32>(rstd * (g - mg - xh * mgx)));
    }
  }
  for (let j = 0; j < cols; j++) {
    store<f32>(dgamma + (<usize>j << 2), <f32>load<f64>(acc + (<usize>j << 3)));
    store<f32>(dbeta + (<usize>j << 2), <f32>load<f64>(acc + (<usize>(cols + j) << 3)));
  }
}

// ---------- Adam / AdamW (core's adamCoefficients; float32, the composed update's order) ----------

/** One update of n floats; outputs are separate buffers. Vector and scalar lanes round alike. */
export function adam(p: usize, g: usize, m: usize, v: usize, po: usize, mo: usize, vo: usize, n: i32,
  decay: f32, b1: f32, omb1: f32, b2: f32, omb2: f32, sbc2: f32, eps: f32, stepSize: f32, l2: f32): void {
  const hasDecay = decay != 1, hasL2 = l2 != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pi = v128.load(p + o);
    let gi = v128.load(g + o);
    if (hasL2) gi = f32x4.add(gi, f32x4.mul(pi, splat(l2)));
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), splat(b1)), f32x4.mul(gi, splat(omb1)));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), splat(b2)), f32x4.mul(f32x4.mul(gi, gi), splat(omb2)));
    const base = hasDecay ? f32x4.mul(pi, splat(decay)) : pi;
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), splat(sbc2)), splat(eps));
    v128.store(mo + o, mi);
    v128.store(vo + o, vi);
    v128.store(po + o, f32x4.sub(base, f32x4.mul(f32x4.div(mi, denom), splat(stepSize))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o);
    let gi = load<f32>(g + o);
    if (hasL2) gi = gi + pi * l2;
    const mi = load<f32>(m + o) * b1 + gi * omb1;
    const vi = load<f32>(v + o) * b2 + (gi * gi) * omb2;
    const base = hasDecay ? pi * decay : pi;
    const denom = Mathf.sqrt(vi) / sbc2 + eps;
    store<f32>(mo + o, mi);
    store<f32>(vo + o, vi);
    store<f32>(po + o, base - (mi / denom) * stepSize);
  }
}

// ---------- GroupNorm, channels last (as backend-native's src-c/group_norm.c) ----------

/** Mean (as f32) of one (sample, group) of x [N, S, C]; returns rstd (f64) through memory at `stats`. */
function groupStats(x: usize, n: i32, g: i32, S: i32, C: i32, Cg: i32, eps: f64, stats: usize): f32 {
  const base = x + (<usize>(n * S * C + g * Cg) << 2);
  let sum: f64 = 0;
  for (let s = 0; s < S; s++) for (let c = 0; c < Cg; c++) sum += <f64>load<f32>(base + (<usize>(s * C + c) << 2));
  const count = <f64>(S * Cg);
  const mean = <f32>(sum / count);
  let sq: f64 = 0;
  for (let s = 0; s < S; s++) {
    for (let c = 0; c < Cg; c++) {
      const dv = <f64>(load<f32>(base + (<usize>(s * C + c) << 2)) - mean);
      sq += dv * dv;
    }
  }
  store<f64>(stats, 1.0 / Math.sqrt(sq / count + eps));
  return mean;
}

/** out = GroupNorm(x [N, S, C]; G groups)·gamma (+ beta; 0 = none); stats: 8 bytes of scratch. */
export function groupNorm(x: usize, gamma: usize, beta: usize, out: usize, stats: usize, N: i32, S: i32, C: i32, G: i32, eps: f64): void {
  const Cg = C / G;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const mean = groupStats(x, n, g, S, C, Cg, eps, stats);
      const inv = <f32>load<f64>(stats);
      const off = n * S * C + g * Cg;
      for (let s = 0; s < S; s++) {
        for (let c = 0; c < Cg; c++) {
          const o = <usize>(off + s * C + c) << 2;
          let y = (load<f32>(x + o) - mean) * inv * load<f32>(gamma + (<usize>(g * Cg + c) << 2));
          if (beta) y += load<f32>(beta + (<usize>(g * Cg + c) << 2));
          store<f32>(out + o, y);
        }
      }
    }
  }
}

/** dx, dgamma, dbeta of groupNorm; acc: 2·C doubles, stats: 8 bytes of scratch. */
export function groupNormGrad(dy: usize, x: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize, acc: usize, stats: usize, N: i32, S: i32, C: i32, G: i32, eps: f64): void {
  const Cg = C / G;
  const count = <f64>(S * Cg);
  memory.fill(acc, 0, <usize>(2 * C) << 3);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const mean = <f64>groupStats(x, n, g, S, C, Cg, eps, stats);
      const rstd = load<f64>(stats);
      const off = n * S * C + g * Cg;
      let mg: f64 = 0, mgx: f64 = 0;
      for (let s = 0; s < S; s++) {
        for (let c = 0; c < Cg; c++) {
          const o = <usize>(off + s * C + c) << 2;
          const ch = g * Cg + c;
          const e = <f64>load<f32>(dy + o);
          const xh = (<f64>load<f32>(x + o) - mean) * rstd, gi = e * <f64>load<f32>(gamma + (<usize>ch << 2));
          mg += gi;
          mgx += gi * xh;
          store<f64>(acc + (<usize>ch << 3), load<f64>(acc + (<usize>ch << 3)) + e * xh);
          store<f64>(acc + (<usize>(C + ch) << 3), load<f64>(acc + (<usize>(C + ch) << 3)) + e);
        }
      }
      mg /= count;
      mgx /= count;
      for (let s = 0; s < S; s++) {
        for (let c = 0; c < Cg; c++) {
          const o = <usize>(off + s * C + c) << 2;
          const xh = (<f64>load<f32>(x + o) - mean) * rstd, gi = <f64>load<f32>(dy + o) * <f64>load<f32>(gamma + (<usize>(g * Cg + c) << 2));
          store<f32>(dx + o, <f32>(rstd * (gi - mg - xh * mgx)));
        }
      }
    }
  }
  for (let c = 0; c < C; c++) {
    store<f32>(dgamma + (<usize>c << 2), <f32>load<f64>(acc + (<usize>c << 3)));
    store<f32>(dbeta + (<usize>c << 2), <f32>load<f64>(acc + (<usize>(C + c) << 3)));
  }
}
