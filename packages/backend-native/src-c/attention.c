/*
 * Causal self-attention for training: one kernel for the forward pass and one for its adjoint,
 * where the composed graph takes a split, six head transposes, two batched products, a scale, a
 * mask and a softmax (and about twice that backwards).
 *
 *   causalAttention(qkv, y, lse, params, scale)
 *       params = Int32Array [B, T, H, d]; qkv is [B, T, 3*H*d] (q | k | v, head h at columns h*d..).
 *       y[B, T, H*d] = softmax(scale * q k^T, causal) v per head; lse[B, H, T] = the log of each
 *       softmax denominator (with its max), saved so the backward pass recomputes the weights
 *       exactly instead of storing them.
 *   causalAttentionGrad(dy, qkv, y, lse, dqkv, params, scale)
 *       dqkv[B, T, 3*H*d] (dq | dk | dv) for the upstream gradient dy[B, T, H*d]. With
 *       p_ij = exp(scale q_i.k_j - lse_i) and D_i = dy_i . y_i:
 *       dv_j = sum_i p_ij dy_i,  ds_ij = p_ij (dy_i . v_j - D_i),
 *       dq_i = scale sum_j ds_ij k_j,  dk_j = scale sum_i ds_ij q_i.
 *
 * (b, h) pairs are split over threads; each pair is computed by one thread, so the results do
 * not depend on the thread count. Per pair the head's rows are copied to contiguous scratch.
 */
#include "common.h"
#include "activation.h" /* exp_fast */

typedef struct {
  const float *qkv, *dy, *y, *lse;
  float *out, *lse_out, *dqkv;
  int64_t B, T, H, d;
  float scale;
  int failed;
} AttnTask;

/* Sum of a[i] * b[i] with 8 partial sums, so it vectorises without reassociation flags. */
HOT_LOOP static float dot(const float *restrict a, const float *restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

HOT_LOOP static void axpy(float a, const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* Rows of one head of q, k or v (part 0, 1, 2) from qkv [T, 3C] into dst [T, d]. */
static void gather_head(const float *qkv_b, int part, int64_t h, int64_t T, int64_t C, int64_t d, float *dst) {
  for (int64_t t = 0; t < T; t++) memcpy(dst + t * d, qkv_b + t * 3 * C + part * C + h * d, (size_t)d * sizeof(float));
}

/* p[j] = e^(p[j] - m) for j < n: a separate loop, so it vectorises (exp_fast is branch-free). */
static void exp_shifted(float *restrict p, float m, int64_t n) {
  for (int64_t j = 0; j < n; j++) p[j] = exp_fast(p[j] - m);
}

HOT_LOOP static void forward_pairs(void *ctx, int64_t lo, int64_t hi) {
  AttnTask *a = (AttnTask *)ctx;
  const int64_t T = a->T, H = a->H, d = a->d, C = H * d;
  float *buf = (float *)malloc((size_t)(3 * T * d + T) * sizeof(float));
  if (!buf) {
    a->failed = 1;
    return;
  }
  float *Q = buf, *K = Q + T * d, *V = K + T * d, *p = V + T * d;
  for (int64_t bh = lo; bh < hi; bh++) {
    const int64_t b = bh / H, h = bh % H;
    const float *src = a->qkv + b * T * 3 * C;
    gather_head(src, 0, h, T, C, d, Q);
    gather_head(src, 1, h, T, C, d, K);
    gather_head(src, 2, h, T, C, d, V);
    for (int64_t i = 0; i < T; i++) {
      const float *qi = Q + i * d;
      float m = -INFINITY;
      for (int64_t j = 0; j <= i; j++) {
        p[j] = a->scale * dot(qi, K + j * d, d);
        if (p[j] > m) m = p[j];
      }
      exp_shifted(p, m, i + 1);
      double sum = 0;
      for (int64_t j = 0; j <= i; j++) sum += p[j];
      const float inv = (float)(1.0 / sum);
      float *yi = a->out + (b * T + i) * C + h * d;
      memset(yi, 0, (size_t)d * sizeof(float));
      for (int64_t j = 0; j <= i; j++) axpy(p[j] * inv, V + j * d, yi, d);
      a->lse_out[bh * T + i] = m + (float)log(sum);
    }
  }
  free(buf);
}

HOT_LOOP static void backward_pairs(void *ctx, int64_t lo, int64_t hi) {
  AttnTask *a = (AttnTask *)ctx;
  const int64_t T = a->T, H = a->H, d = a->d, C = H * d;
  float *buf = (float *)malloc((size_t)(6 * T * d + 3 * T) * sizeof(float));
  if (!buf) {
    a->failed = 1;
    return;
  }
  float *Q = buf, *K = Q + T * d, *V = K + T * d, *dQ = V + T * d, *dK = dQ + T * d, *dV = dK + T * d, *D = dV + T * d;
  float *P = D + T, *dS = P + T; /* one query row's weights and score gradients */
  for (int64_t bh = lo; bh < hi; bh++) {
    const int64_t b = bh / H, h = bh % H;
    const float *src = a->qkv + b * T * 3 * C;
    gather_head(src, 0, h, T, C, d, Q);
    gather_head(src, 1, h, T, C, d, K);
    gather_head(src, 2, h, T, C, d, V);
    memset(dQ, 0, (size_t)(3 * T * d) * sizeof(float));
    for (int64_t i = 0; i < T; i++) D[i] = dot(a->dy + (b * T + i) * C + h * d, a->y + (b * T + i) * C + h * d, d);
    for (int64_t i = 0; i < T; i++) {
      const float *qi = Q + i * d, *gi = a->dy + (b * T + i) * C + h * d;
      float *dqi = dQ + i * d;
      /* p_ij = e^(scale q_i.k_j - lse_i), recomputed; ds_ij = p_ij (dy_i.v_j - D_i) scale. */
      for (int64_t j = 0; j <= i; j++) P[j] = a->scale * dot(qi, K + j * d, d);
      exp_shifted(P, a->lse[bh * T + i], i + 1);
      for (int64_t j = 0; j <= i; j++) dS[j] = P[j] * (dot(gi, V + j * d, d) - D[i]) * a->scale;
      for (int64_t j = 0; j <= i; j++) {
        axpy(P[j], gi, dV + j * d, d);
        axpy(dS[j], K + j * d, dqi, d);
        axpy(dS[j], qi, dK + j * d, d);
      }
    }
    float *dst = a->dqkv + b * T * 3 * C;
    for (int64_t t = 0; t < T; t++) {
      memcpy(dst + t * 3 * C + h * d, dQ + t * d, (size_t)d * sizeof(float));
      memcpy(dst + t * 3 * C + C + h * d, dK + t * d, (size_t)d * sizeof(float));
      memcpy(dst + t * 3 * C + 2 * C + h * d, dV + t * d, (size_t)d * sizeof(float));
    }
  }
  free(buf);
}

static int read_params(napi_env env, napi_value v, AttnTask *a, const char *name) {
  int32_t *p;
  size_t lp;
  if (!get_i32_opt(env, v, &p, &lp)) return 0;
  if (!p || lp < 4 || p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: params must be an Int32Array [B, T, H, d] of positive values", name);
    return throw_msg(env, msg);
  }
  a->B = p[0], a->T = p[1], a->H = p[2], a->d = p[3];
  return 1;
}

static napi_value CausalAttention(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  AttnTask a = {0};
  float *qkv, *y, *lse;
  size_t lqkv, ly, llse;
  double scale;
  if (!get_args(env, info, 5, argv, "causalAttention") || !get_f32(env, argv[0], &qkv, &lqkv) || !get_f32(env, argv[1], &y, &ly) ||
      !get_f32(env, argv[2], &lse, &llse) || !read_params(env, argv[3], &a, "causalAttention") || !get_double(env, argv[4], &scale))
    return NULL;
  const int64_t C = a.H * a.d, rows = a.B * a.T;
  if ((int64_t)lqkv < rows * 3 * C || (int64_t)ly < rows * C || (int64_t)llse < a.B * a.H * a.T) {
    throw_msg(env, "causalAttention: buffers smaller than params say");
    return NULL;
  }
  a.qkv = qkv, a.out = y, a.lse_out = lse, a.scale = (float)scale;
  parallel_range(a.B * a.H, 1, forward_pairs, &a);
  if (a.failed) napi_throw_error(env, "E_NATIVE_MEMORY", "causalAttention: out of memory");
  return NULL;
}

static napi_value CausalAttentionGrad(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  AttnTask a = {0};
  float *dy, *qkv, *y, *lse, *dqkv;
  size_t ldy, lqkv, ly, llse, ld;
  double scale;
  if (!get_args(env, info, 7, argv, "causalAttentionGrad") || !get_f32(env, argv[0], &dy, &ldy) || !get_f32(env, argv[1], &qkv, &lqkv) ||
      !get_f32(env, argv[2], &y, &ly) || !get_f32(env, argv[3], &lse, &llse) || !get_f32(env, argv[4], &dqkv, &ld) ||
      !read_params(env, argv[5], &a, "causalAttentionGrad") || !get_double(env, argv[6], &scale))
    return NULL;
  const int64_t C = a.H * a.d, rows = a.B * a.T;
  if ((int64_t)ldy < rows * C || (int64_t)lqkv < rows * 3 * C || (int64_t)ly < rows * C || (int64_t)llse < a.B * a.H * a.T ||
      (int64_t)ld < rows * 3 * C) {
    throw_msg(env, "causalAttentionGrad: buffers smaller than params say");
    return NULL;
  }
  a.dy = dy, a.qkv = qkv, a.y = y, a.lse = lse, a.dqkv = dqkv, a.scale = (float)scale;
  parallel_range(a.B * a.H, 1, backward_pairs, &a);
  if (a.failed) napi_throw_error(env, "E_NATIVE_MEMORY", "causalAttentionGrad: out of memory");
  return NULL;
}

void register_attention(napi_env env, napi_value exports) {
  define_fn(env, exports, "causalAttention", CausalAttention);
  define_fn(env, exports, "causalAttentionGrad", CausalAttentionGrad);
}
