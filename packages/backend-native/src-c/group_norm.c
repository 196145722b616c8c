/*
 * GroupNorm over channels-last data (x [N, S, C]: S every spatial position, C channels in G groups
 * of C/G), forward and adjoint, where the composed graph takes moments over a [N, S, G, C/G] view
 * plus ~6 broadcasting ops each way. Statistics in double, rounded like layerNorm's.
 *
 *   groupNorm(x, gamma, beta|null, out, params, eps)          params = Int32Array [N, S, C, G]
 *   groupNormGrad(dy, x, gamma, dx, dgamma, dbeta, params, eps)
 *       with xhat = (x - mean) * rstd and g = dy * gamma over each (sample, group):
 *       dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
 *       dgamma[c] = sum dy * xhat, dbeta[c] = sum dy (over samples and positions, fixed order).
 * (sample, group) pairs are split over threads; results do not depend on the thread count.
 */
#include "common.h"

typedef struct {
  int64_t N, S, C, G, Cg;
} GroupDims;

static int read_dims(napi_env env, napi_value v, GroupDims *d, const char *name) {
  int32_t *p;
  size_t lp;
  if (!get_i32_opt(env, v, &p, &lp)) return 0;
  if (!p || lp < 4 || p[0] < 0 || p[1] < 0 || p[2] < 1 || p[3] < 1 || p[2] % p[3]) {
    char msg[112];
    snprintf(msg, sizeof msg, "%s: params must be [N, S, C, G] with C divisible by G", name);
    return throw_msg(env, msg);
  }
  d->N = p[0], d->S = p[1], d->C = p[2], d->G = p[3], d->Cg = p[2] / p[3];
  return 1;
}

/* Mean (as float, like layerNorm) and the double reciprocal standard deviation of one group. */
static void group_stats(const float *x, const GroupDims *d, int64_t n, int64_t g, double eps, float *mean_out, double *rstd_out) {
  const float *base = x + n * d->S * d->C + g * d->Cg;
  double sum = 0;
  for (int64_t s = 0; s < d->S; s++)
    for (int64_t c = 0; c < d->Cg; c++) sum += base[s * d->C + c];
  const double count = (double)(d->S * d->Cg);
  const float mean = (float)(sum / count);
  double sq = 0;
  for (int64_t s = 0; s < d->S; s++)
    for (int64_t c = 0; c < d->Cg; c++) {
      const double dv = (double)(base[s * d->C + c] - mean);
      sq += dv * dv;
    }
  *mean_out = mean;
  *rstd_out = 1.0 / sqrt(sq / count + eps);
}

typedef struct {
  const GroupDims *d;
  const float *x, *dy, *gamma, *beta;
  float *out;  /* y (forward) or dx (backward) */
  double *acc; /* backward: [N][2][C] per-sample sums of dy*xhat and dy */
  double eps;
} GnTask;

static void forward_groups(void *ctx, int64_t lo, int64_t hi) {
  const GnTask *t = (const GnTask *)ctx;
  const GroupDims *d = t->d;
  for (int64_t ng = lo; ng < hi; ng++) {
    const int64_t n = ng / d->G, g = ng % d->G;
    float mean;
    double rstd;
    group_stats(t->x, d, n, g, t->eps, &mean, &rstd);
    const float inv = (float)rstd;
    const int64_t off = n * d->S * d->C + g * d->Cg;
    const float *gm = t->gamma + g * d->Cg, *bt = t->beta ? t->beta + g * d->Cg : NULL;
    for (int64_t s = 0; s < d->S; s++) {
      const float *p = t->x + off + s * d->C;
      float *q = t->out + off + s * d->C;
      for (int64_t c = 0; c < d->Cg; c++) {
        float y = (p[c] - mean) * inv * gm[c];
        if (bt) y += bt[c];
        q[c] = y;
      }
    }
  }
}

static void backward_groups(void *ctx, int64_t lo, int64_t hi) {
  const GnTask *t = (const GnTask *)ctx;
  const GroupDims *d = t->d;
  const double count = (double)(d->S * d->Cg);
  for (int64_t ng = lo; ng < hi; ng++) {
    const int64_t n = ng / d->G, g = ng % d->G;
    float meanf;
    double rstd;
    group_stats(t->x, d, n, g, t->eps, &meanf, &rstd);
    const double mean = meanf;
    const int64_t off = n * d->S * d->C + g * d->Cg;
    const float *gm = t->gamma + g * d->Cg;
    double *sg = t->acc + (n * 2) * d->C + g * d->Cg, *sb = t->acc + (n * 2 + 1) * d->C + g * d->Cg;
    double mg = 0, mgx = 0;
    for (int64_t s = 0; s < d->S; s++) {
      const float *p = t->x + off + s * d->C, *e = t->dy + off + s * d->C;
      for (int64_t c = 0; c < d->Cg; c++) {
        const double xh = (p[c] - mean) * rstd, gi = (double)e[c] * gm[c];
        mg += gi;
        mgx += gi * xh;
        sg[c] += (double)e[c] * xh;
        sb[c] += e[c];
      }
    }
    mg /= count;
    mgx /= count;
    for (int64_t s = 0; s < d->S; s++) {
      const float *p = t->x + off + s * d->C, *e = t->dy + off + s * d->C;
      float *q = t->out + off + s * d->C;
      for (int64_t c = 0; c < d->Cg; c++) {
        const double xh = (p[c] - mean) * rstd, gi = (double)e[c] * gm[c];
        q[c] = (float)(rstd * (gi - mg - xh * mgx));
      }
    }
  }
}

static napi_value GroupNorm(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  float *x, *gamma, *beta, *out;
  size_t lx, lg, lb, lo;
  double eps;
  GroupDims d;
  if (!get_args(env, info, 6, argv, "groupNorm") || !get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &gamma, &lg) ||
      !get_f32_opt(env, argv[2], &beta, &lb) || !get_f32(env, argv[3], &out, &lo) || !read_dims(env, argv[4], &d, "groupNorm") ||
      !get_double(env, argv[5], &eps))
    return NULL;
  const int64_t size = d.N * d.S * d.C;
  if ((int64_t)lx < size || (int64_t)lo < size || (int64_t)lg < d.C || (beta && (int64_t)lb < d.C)) {
    throw_msg(env, "groupNorm: buffers smaller than params say");
    return NULL;
  }
  GnTask t = {&d, x, NULL, gamma, beta, out, NULL, eps};
  parallel_range(d.N * d.G, 1, forward_groups, &t);
  return NULL;
}

static napi_value GroupNormGrad(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  float *dy, *x, *gamma, *dx, *dg, *db;
  size_t ldy, lx, lg, ldx, ldg, ldb;
  double eps;
  GroupDims d;
  if (!get_args(env, info, 8, argv, "groupNormGrad") || !get_f32(env, argv[0], &dy, &ldy) || !get_f32(env, argv[1], &x, &lx) ||
      !get_f32(env, argv[2], &gamma, &lg) || !get_f32(env, argv[3], &dx, &ldx) || !get_f32(env, argv[4], &dg, &ldg) ||
      !get_f32(env, argv[5], &db, &ldb) || !read_dims(env, argv[6], &d, "groupNormGrad") || !get_double(env, argv[7], &eps))
    return NULL;
  const int64_t size = d.N * d.S * d.C;
  if ((int64_t)ldy < size || (int64_t)lx < size || (int64_t)ldx < size || (int64_t)lg < d.C || (int64_t)ldg < d.C || (int64_t)ldb < d.C) {
    throw_msg(env, "groupNormGrad: buffers smaller than params say");
    return NULL;
  }
  /* Per-sample column sums (each (sample, group) writes only its own), reduced over samples in a
   * fixed order afterwards: the same numbers whatever the thread count. */
  double *acc = (double *)calloc((size_t)(2 * d.N * d.C), sizeof(double));
  if (!acc) {
    napi_throw_error(env, "E_NATIVE_MEMORY", "groupNormGrad: out of memory");
    return NULL;
  }
  GnTask t = {&d, x, dy, gamma, NULL, dx, acc, eps};
  parallel_range(d.N * d.G, 1, backward_groups, &t);
  for (int64_t c = 0; c < d.C; c++) {
    double sg = 0, sb = 0;
    for (int64_t n = 0; n < d.N; n++) {
      sg += acc[(n * 2) * d.C + c];
      sb += acc[(n * 2 + 1) * d.C + c];
    }
    dg[c] = (float)sg;
    db[c] = (float)sb;
  }
  free(acc);
  return NULL;
}

void register_group_norm(napi_env env, napi_value exports) {
  define_fn(env, exports, "groupNorm", GroupNorm);
  define_fn(env, exports, "groupNormGrad", GroupNormGrad);
}
