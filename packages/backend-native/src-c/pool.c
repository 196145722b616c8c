/*
 * NHWC max pooling and its gradient, with tfjs cpu's exact rules so results match bit for bit:
 * the window's first strict maximum wins (NaN never does; a window with no value > -inf gives
 * -inf and passes no gradient), and dx sums dy over the windows whose maximum it was, in
 * increasing output position (tfjs's order).
 *
 *   maxPool(x, out, params)          params = Int32Array [n, inH, inW, c, outH, outW, fH, fW, sH, sW, padTop, padLeft]
 *   maxPoolGrad(dy, x, dx, params)
 */
#include "common.h"

typedef struct {
  int64_t n, inH, inW, c, outH, outW, fH, fW, sH, sW, padT, padL;
} PoolParams;

static int get_pool_params(napi_env env, napi_value v, PoolParams *p) {
  int32_t *q;
  size_t len;
  if (!get_i32_opt(env, v, &q, &len)) return 0;
  if (!q || len < 12) return throw_msg(env, "maxPool: params must be an Int32Array of 12 values");
  p->n = q[0], p->inH = q[1], p->inW = q[2], p->c = q[3], p->outH = q[4], p->outW = q[5];
  p->fH = q[6], p->fW = q[7], p->sH = q[8], p->sW = q[9], p->padT = q[10], p->padL = q[11];
  if (p->n < 0 || p->inH < 0 || p->inW < 0 || p->c < 0 || p->outH < 0 || p->outW < 0 || p->fH < 1 || p->fW < 1 || p->sH < 1 ||
      p->sW < 1)
    return throw_msg(env, "maxPool: invalid params");
  return 1;
}

/* Index (into the image, in units of channels-rows: ih*inW+iw) of the window's maximum for channel ch, or -1. */
static inline int64_t window_argmax(const PoolParams *p, const float *img, int64_t oh, int64_t ow, int64_t ch, float *max) {
  const int64_t r0 = oh * p->sH - p->padT, c0 = ow * p->sW - p->padL;
  const int64_t rMin = r0 < 0 ? 0 : r0, cMin = c0 < 0 ? 0 : c0;
  const int64_t rMax = r0 + p->fH < p->inH ? r0 + p->fH : p->inH, cMax = c0 + p->fW < p->inW ? c0 + p->fW : p->inW;
  float m = -INFINITY;
  int64_t at = -1;
  for (int64_t r = rMin; r < rMax; r++) {
    for (int64_t q = cMin; q < cMax; q++) {
      const float v = img[(r * p->inW + q) * p->c + ch];
      if (v > m) {
        m = v;
        at = r * p->inW + q;
      }
    }
  }
  *max = m;
  return at;
}

static napi_value MaxPool(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *x, *o;
  size_t lx, lo;
  PoolParams p;
  if (!get_args(env, info, 3, argv, "maxPool") || !get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &o, &lo) ||
      !get_pool_params(env, argv[2], &p))
    return NULL;
  const size_t xImage = (size_t)(p.inH * p.inW * p.c), yImage = (size_t)(p.outH * p.outW * p.c);
  if (lx < xImage * p.n || lo < yImage * p.n) {
    throw_msg(env, "maxPool: an array is smaller than its shape");
    return NULL;
  }
  for (int64_t b = 0; b < p.n; b++) {
    const float *img = x + b * xImage;
    float *out = o + b * yImage;
    for (int64_t oh = 0; oh < p.outH; oh++) {
      for (int64_t ow = 0; ow < p.outW; ow++) {
        float *cell = out + (oh * p.outW + ow) * p.c;
        for (int64_t ch = 0; ch < p.c; ch++) window_argmax(&p, img, oh, ow, ch, &cell[ch]);
      }
    }
  }
  return NULL;
}

static napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float *dy, *x, *dx;
  size_t ldy, lx, ldx;
  PoolParams p;
  if (!get_args(env, info, 4, argv, "maxPoolGrad") || !get_f32(env, argv[0], &dy, &ldy) || !get_f32(env, argv[1], &x, &lx) ||
      !get_f32(env, argv[2], &dx, &ldx) || !get_pool_params(env, argv[3], &p))
    return NULL;
  const size_t xImage = (size_t)(p.inH * p.inW * p.c), yImage = (size_t)(p.outH * p.outW * p.c);
  if (lx < xImage * p.n || ldx < xImage * p.n || ldy < yImage * p.n) {
    throw_msg(env, "maxPoolGrad: an array is smaller than its shape");
    return NULL;
  }
  memset(dx, 0, xImage * p.n * sizeof(float));
  for (int64_t b = 0; b < p.n; b++) {
    const float *img = x + b * xImage;
    const float *g = dy + b * yImage;
    float *d = dx + b * xImage;
    for (int64_t oh = 0; oh < p.outH; oh++) {
      for (int64_t ow = 0; ow < p.outW; ow++) {
        for (int64_t ch = 0; ch < p.c; ch++) {
          float m;
          const int64_t at = window_argmax(&p, img, oh, ow, ch, &m);
          if (at >= 0) d[at * p.c + ch] += g[(oh * p.outW + ow) * p.c + ch];
        }
      }
    }
  }
  return NULL;
}

void register_pool(napi_env env, napi_value exports) {
  define_fn(env, exports, "maxPool", MaxPool);
  define_fn(env, exports, "maxPoolGrad", MaxPoolGrad);
}
