/*
 * Fused inference kernels for transformer decoding: one call where the composed tfjs ops take
 * 5-20 kernel dispatches each (per-op dispatch dominates a decode step of a small model).
 *
 *   layerNorm(x, gamma|null, beta|null, out, rows, cols, eps)       (+ layerNormGrad, its adjoint)
 *   linear(x, w, bias|null, residual|null, out, M, N, K, transB, act)
 *       out[M,N] = act(x[M,K] . op(w) + bias) + residual      (op(w): w[K,N], or w[N,K]^T if transB)
 *   cachedAttention(qkv, kCache, vCache, out, params, scale, ropeTheta)
 *       params = Int32Array [B, T, H, d, capacity, start, rope]; qkv is [B, T, 3*H*d] (q | k | v),
 *       caches are [B, H, capacity, d]. Writes the T new keys/values (rotated when rope != 0) into
 *       the caches at positions start..start+T-1 IN PLACE, then out[B, T, H*d] = causal attention of
 *       each query over cache positions 0..start+t.
 */
#include "common.h"
#include "activation.h"

/* y[N] = x[K] . w[K,N]: row-wise axpy, vectorises over N. */
HOT_LOOP static void gemv_kn(const float *restrict x, const float *restrict w, float *restrict y, int64_t K, int64_t N) {
  memset(y, 0, (size_t)N * sizeof(float));
  for (int64_t k = 0; k < K; k++) {
    const float a = x[k];
    const float *restrict row = w + k * N;
    for (int64_t n = 0; n < N; n++) y[n] += a * row[n];
  }
}

/* y[N] = w[N,K] . x[K]: one dot product per row, 8 partial sums so it vectorises without -ffast-math. */
HOT_LOOP static void gemv_nk(const float *restrict x, const float *restrict w, float *restrict y, int64_t K, int64_t N) {
  for (int64_t n = 0; n < N; n++) {
    const float *restrict row = w + n * K;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
      for (int i = 0; i < 8; i++) acc[i] += row[k + i] * x[k + i];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < K; k++) s += row[k] * x[k];
    y[n] = s;
  }
}

/* Below this many multiply-adds a single-row product runs in gemv_* on this thread: OpenBLAS
 * would hand it to its thread pool, whose wake-up costs more than the work (worse under load). */
#define SMALL_GEMV ((int64_t)1 << 22)

static napi_value LayerNorm(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  float *x, *g, *b, *o;
  size_t lx, lg, lb, lo;
  int64_t rows, cols;
  double eps;
  if (!get_args(env, info, 7, argv, "layerNorm") || !get_f32(env, argv[0], &x, &lx) || !get_f32_opt(env, argv[1], &g, &lg) ||
      !get_f32_opt(env, argv[2], &b, &lb) || !get_f32(env, argv[3], &o, &lo) || !get_int(env, argv[4], &rows) ||
      !get_int(env, argv[5], &cols) || !get_double(env, argv[6], &eps))
    return NULL;
  if (rows < 0 || cols < 1 || (int64_t)lx < rows * cols || (int64_t)lo < rows * cols || (g && (int64_t)lg < cols) ||
      (b && (int64_t)lb < cols)) {
    throw_msg(env, "layerNorm: invalid arguments");
    return NULL;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols;
    float *q = o + r * cols;
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) sum += p[j];
    const float mean = (float)(sum / (double)cols);
    double sq = 0;
    for (int64_t j = 0; j < cols; j++) {
      const double dv = (double)(p[j] - mean);
      sq += dv * dv;
    }
    const float inv = (float)(1.0 / sqrt(sq / (double)cols + eps));
    for (int64_t j = 0; j < cols; j++) {
      float y = (p[j] - mean) * inv;
      if (g) y *= g[j];
      if (b) y += b[j];
      q[j] = y;
    }
  }
  return NULL;
}

/*
 * layerNormGrad(dy, x, gamma|null, dx, dgamma|null, dbeta|null, rows, cols, eps): the adjoint of
 * layerNorm. With xhat = (x - mean) * rstd and g = dy * gamma:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dgamma = sum_rows dy * xhat,  dbeta = sum_rows dy.
 */
static napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  float *dy, *x, *gamma, *dx, *dg, *db;
  size_t ldy, lx, lgamma, ldx, ldg, ldb;
  int64_t rows, cols;
  double eps;
  if (!get_args(env, info, 9, argv, "layerNormGrad") || !get_f32(env, argv[0], &dy, &ldy) || !get_f32(env, argv[1], &x, &lx) ||
      !get_f32_opt(env, argv[2], &gamma, &lgamma) || !get_f32(env, argv[3], &dx, &ldx) || !get_f32_opt(env, argv[4], &dg, &ldg) ||
      !get_f32_opt(env, argv[5], &db, &ldb) || !get_int(env, argv[6], &rows) || !get_int(env, argv[7], &cols) ||
      !get_double(env, argv[8], &eps))
    return NULL;
  const int64_t n = rows * cols;
  if (rows < 0 || cols < 1 || (int64_t)ldy < n || (int64_t)lx < n || (int64_t)ldx < n || (gamma && (int64_t)lgamma < cols) ||
      (dg && (int64_t)ldg < cols) || (db && (int64_t)ldb < cols)) {
    throw_msg(env, "layerNormGrad: invalid arguments");
    return NULL;
  }
  double *acc = (double *)calloc((size_t)(2 * cols), sizeof(double)); /* dgamma, dbeta sums */
  if (!acc) {
    napi_throw_error(env, "E_NATIVE_MEMORY", "layerNormGrad: out of memory");
    return NULL;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols, *d = dy + r * cols;
    float *q = dx + r * cols;
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) sum += p[j];
    const double mean = sum / (double)cols;
    double sq = 0;
    for (int64_t j = 0; j < cols; j++) sq += (p[j] - mean) * (p[j] - mean);
    const double rstd = 1.0 / sqrt(sq / (double)cols + eps);
    double mg = 0, mgx = 0;
    for (int64_t j = 0; j < cols; j++) {
      const double xh = (p[j] - mean) * rstd, g = (double)d[j] * (gamma ? gamma[j] : 1.0f);
      mg += g;
      mgx += g * xh;
      acc[j] += (double)d[j] * xh;
      acc[cols + j] += d[j];
    }
    mg /= (double)cols;
    mgx /= (double)cols;
    for (int64_t j = 0; j < cols; j++) {
      const double xh = (p[j] - mean) * rstd, g = (double)d[j] * (gamma ? gamma[j] : 1.0f);
      q[j] = (float)(rstd * (g - mg - xh * mgx));
    }
  }
  for (int64_t j = 0; j < cols; j++) {
    if (dg) dg[j] = (float)acc[j];
    if (db) db[j] = (float)acc[cols + j];
  }
  free(acc);
  return NULL;
}

static napi_value Linear(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  float *x, *w, *bias, *res, *o;
  size_t lx, lw, lbias, lres, lo;
  int64_t M, N, K, act;
  bool tb;
  if (!get_args(env, info, 10, argv, "linear") || !get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &w, &lw) ||
      !get_f32_opt(env, argv[2], &bias, &lbias) || !get_f32_opt(env, argv[3], &res, &lres) || !get_f32(env, argv[4], &o, &lo) ||
      !get_int(env, argv[5], &M) || !get_int(env, argv[6], &N) || !get_int(env, argv[7], &K) || !get_bool(env, argv[8], &tb) ||
      !get_int(env, argv[9], &act))
    return NULL;
  if (M < 0 || N < 0 || K < 0 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || act < 0 || act >= ACT_COUNT ||
      (int64_t)lx < M * K || (int64_t)lw < K * N || (int64_t)lo < M * N || (bias && (int64_t)lbias < N) ||
      (res && (int64_t)lres < M * N)) {
    throw_msg(env, "linear: invalid arguments");
    return NULL;
  }
  if (M == 0 || N == 0) return NULL;
  if (K == 0)
    memset(o, 0, (size_t)(M * N) * sizeof(float));
  else if (M == 1 && K * N <= SMALL_GEMV) { /* one row (a decode step) */
    if (tb)
      gemv_nk(x, w, o, K, N);
    else
      gemv_kn(x, w, o, K, N);
  } else if (M == 1) /* gemv skips GEMM's packing */
    cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? (int)N : (int)K, tb ? (int)K : (int)N, 1.0f, w,
                tb ? (int)K : (int)N, x, 1, 0.0f, o, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, x, (int)K, w,
                tb ? (int)K : (int)N, 0.0f, o, (int)N);
  if (!bias && act == ACT_NONE && !res) return NULL;
  for (int64_t i = 0; i < M; i++) {
    float *row = o + i * N;
    const float *r = res ? res + i * N : NULL;
    for (int64_t j = 0; j < N; j++) {
      float y = row[j];
      if (bias) y += bias[j];
      y = activate(y, (int)act);
      if (r) y += r[j];
      row[j] = y;
    }
  }
  return NULL;
}

/* GPT-NeoX / LLaMA "rotate half" rotary embedding of one head vector at position pos. */
static void rope_rotate(const float *in, float *out, int64_t d, int64_t pos, double theta) {
  const int64_t half = d / 2;
  for (int64_t i = 0; i < half; i++) {
    const double a = (double)pos * pow(theta, -(double)(2 * i) / (double)d);
    const float c = (float)cos(a), s = (float)sin(a);
    const float x1 = in[i], x2 = in[i + half];
    out[i] = x1 * c + (-x2) * s;
    out[i + half] = x2 * c + x1 * s;
  }
}

static napi_value CachedAttention(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  float *qkv, *kc, *vc, *o;
  size_t lqkv, lk, lv, lo, lp;
  int32_t *p;
  double scale, theta;
  if (!get_args(env, info, 7, argv, "cachedAttention") || !get_f32(env, argv[0], &qkv, &lqkv) || !get_f32(env, argv[1], &kc, &lk) ||
      !get_f32(env, argv[2], &vc, &lv) || !get_f32(env, argv[3], &o, &lo) || !get_i32_opt(env, argv[4], &p, &lp) ||
      !get_double(env, argv[5], &scale) || !get_double(env, argv[6], &theta))
    return NULL;
  if (!p || lp < 7) {
    throw_msg(env, "cachedAttention: params must be an Int32Array of 7 values");
    return NULL;
  }
  const int64_t B = p[0], T = p[1], H = p[2], d = p[3], cap = p[4], start = p[5];
  const int rope = p[6] != 0;
  const int64_t C = H * d;
  if (B < 1 || T < 1 || H < 1 || d < 1 || start < 0 || start + T > cap || (rope && d % 2) || (int64_t)lqkv < B * T * 3 * C ||
      (int64_t)lk < B * H * cap * d || (int64_t)lv < B * H * cap * d || (int64_t)lo < B * T * C) {
    throw_msg(env, "cachedAttention: invalid arguments (or the cache is full)");
    return NULL;
  }
  const int64_t S = start + T; /* keys visible to the last query */
  float *scores = (float *)malloc((size_t)(S + d) * sizeof(float));
  if (!scores) {
    napi_throw_error(env, "E_NATIVE_MEMORY", "cachedAttention: out of memory");
    return NULL;
  }
  float *q = scores + S; /* the (rotated) query of one head */
  const float fscale = (float)scale;
  for (int64_t b = 0; b < B; b++) {
    /* Append first: every query of this call may attend to the new keys before it. */
    for (int64_t t = 0; t < T; t++) {
      const float *row = qkv + (b * T + t) * 3 * C;
      for (int64_t h = 0; h < H; h++) {
        float *kd = kc + ((b * H + h) * cap + start + t) * d;
        float *vd = vc + ((b * H + h) * cap + start + t) * d;
        if (rope)
          rope_rotate(row + C + h * d, kd, d, start + t, theta);
        else
          memcpy(kd, row + C + h * d, (size_t)d * sizeof(float));
        memcpy(vd, row + 2 * C + h * d, (size_t)d * sizeof(float));
      }
    }
    for (int64_t t = 0; t < T; t++) {
      const float *row = qkv + (b * T + t) * 3 * C;
      const int64_t n = start + t + 1; /* causal: positions 0..start+t */
      for (int64_t h = 0; h < H; h++) {
        if (rope)
          rope_rotate(row + h * d, q, d, start + t, theta);
        else
          memcpy(q, row + h * d, (size_t)d * sizeof(float));
        const float *K = kc + (b * H + h) * cap * d;
        const float *V = vc + (b * H + h) * cap * d;
        float m = -INFINITY;
        for (int64_t j = 0; j < n; j++) {
          const float *kj = K + j * d;
          float dot = 0;
          for (int64_t i = 0; i < d; i++) dot += q[i] * kj[i];
          dot *= fscale;
          scores[j] = dot;
          if (dot > m) m = dot;
        }
        double sum = 0;
        for (int64_t j = 0; j < n; j++) {
          scores[j] = expf(scores[j] - m);
          sum += scores[j];
        }
        const float inv = (float)(1.0 / sum);
        float *y = o + (b * T + t) * C + h * d;
        memset(y, 0, (size_t)d * sizeof(float));
        for (int64_t j = 0; j < n; j++) {
          const float w = scores[j] * inv;
          const float *vj = V + j * d;
          for (int64_t i = 0; i < d; i++) y[i] += w * vj[i];
        }
      }
    }
  }
  free(scores);
  return NULL;
}

void register_fused(napi_env env, napi_value exports) {
  define_fn(env, exports, "layerNorm", LayerNorm);
  define_fn(env, exports, "layerNormGrad", LayerNormGrad);
  define_fn(env, exports, "linear", Linear);
  define_fn(env, exports, "cachedAttention", CachedAttention);
}
