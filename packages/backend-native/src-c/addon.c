/*
 * nutshell_native: float32 GEMM and NHWC conv2d kernels over OpenBLAS, exposed through N-API.
 *
 * Every kernel writes into a caller-provided Float32Array; the only memory this file owns is one
 * scratch buffer per Node environment (im2col / col2im), grown when needed and reused.
 * All matrices are row-major. Sizes are validated against the typed arrays so a wrong call
 * throws instead of touching memory out of bounds.
 */
#include "common.h"

/* ---------- batched matmul ---------- */

/*
 * matmul(a, b, out, batchA, batchB, batchOut, M, N, K, transA, transB, mapA, mapB)
 * out[i] = op(a[ia]) x op(b[ib]) for i < batchOut, where ia = mapA ? mapA[i] : (batchA == 1 ? 0 : i)
 * (likewise ib). op(a) is M x K, op(b) is K x N.
 */
static napi_value Matmul(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 11) {
    throw_msg(env, "matmul: expected 11 to 13 arguments");
    return NULL;
  }
  float *a, *b, *c;
  size_t la, lb, lc, lma = 0, lmb = 0;
  int64_t batchA, batchB, batchOut, M, N, K;
  bool ta, tb;
  int32_t *mapA = NULL, *mapB = NULL;
  if (!get_f32(env, argv[0], &a, &la) || !get_f32(env, argv[1], &b, &lb) || !get_f32(env, argv[2], &c, &lc) ||
      !get_int(env, argv[3], &batchA) || !get_int(env, argv[4], &batchB) || !get_int(env, argv[5], &batchOut) ||
      !get_int(env, argv[6], &M) || !get_int(env, argv[7], &N) || !get_int(env, argv[8], &K) ||
      !get_bool(env, argv[9], &ta) || !get_bool(env, argv[10], &tb))
    return NULL;
  if (argc > 11 && !get_i32_opt(env, argv[11], &mapA, &lma)) return NULL;
  if (argc > 12 && !get_i32_opt(env, argv[12], &mapB, &lmb)) return NULL;
  if (batchA < 1 || batchB < 1 || batchOut < 1 || M < 0 || N < 0 || K < 0 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) {
    throw_msg(env, "matmul: invalid sizes");
    return NULL;
  }
  const size_t sa = (size_t)M * K, sb = (size_t)K * N, sc = (size_t)M * N;
  if (la < sa * batchA || lb < sb * batchB || lc < sc * batchOut) {
    throw_msg(env, "matmul: an array is smaller than its shape");
    return NULL;
  }
  if ((mapA && (int64_t)lma < batchOut) || (mapB && (int64_t)lmb < batchOut)) {
    throw_msg(env, "matmul: batch map too short");
    return NULL;
  }
  if (sc == 0) return NULL;
  if (K == 0) {
    memset(c, 0, sc * batchOut * sizeof(float));
    return NULL;
  }
  const int lda = ta ? (int)M : (int)K;
  const int ldb = tb ? (int)K : (int)N;
  for (int64_t i = 0; i < batchOut; i++) {
    int64_t ia = mapA ? mapA[i] : (batchA == 1 ? 0 : i);
    int64_t ib = mapB ? mapB[i] : (batchB == 1 ? 0 : i);
    if (ia < 0 || ia >= batchA || ib < 0 || ib >= batchB) {
      throw_msg(env, "matmul: batch index out of range");
      return NULL;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                1.0f, a + ia * sa, lda, b + ib * sb, ldb, 0.0f, c + i * sc, (int)N);
  }
  return NULL;
}

/* ---------- conv2d (NHWC input, HWIO filter) ---------- */

typedef struct {
  int64_t n, inH, inW, inC, outH, outW, outC, fH, fW, sH, sW, dH, dW, padT, padL;
} ConvParams;

/* params: Int32Array [n, inH, inW, inC, outH, outW, outC, fH, fW, sH, sW, dH, dW, padTop, padLeft] */
static int get_conv_params(napi_env env, napi_value v, ConvParams *p) {
  int32_t *q;
  size_t len;
  if (!get_i32_opt(env, v, &q, &len)) return 0;
  if (!q || len < 15) return throw_msg(env, "conv2d: params must be an Int32Array of 15 values");
  p->n = q[0], p->inH = q[1], p->inW = q[2], p->inC = q[3], p->outH = q[4], p->outW = q[5], p->outC = q[6];
  p->fH = q[7], p->fW = q[8], p->sH = q[9], p->sW = q[10], p->dH = q[11], p->dW = q[12], p->padT = q[13], p->padL = q[14];
  if (p->n < 0 || p->inH < 0 || p->inW < 0 || p->inC < 0 || p->outH < 0 || p->outW < 0 || p->outC < 0 || p->fH < 1 ||
      p->fW < 1 || p->sH < 1 || p->sW < 1 || p->dH < 1 || p->dW < 1)
    return throw_msg(env, "conv2d: invalid params");
  return 1;
}

/* A 1x1, stride 1, unpadded conv is a plain GEMM on the input: no im2col needed. */
static int is_pointwise(const ConvParams *p) {
  return p->fH == 1 && p->fW == 1 && p->sH == 1 && p->sW == 1 && p->padT == 0 && p->padL == 0 && p->outH == p->inH &&
         p->outW == p->inW;
}

/* A 3x3, stride 1, undilated conv with 'same' padding (the direct kernel's case). */
static int is_3x3_same(const ConvParams *p) {
  return p->fH == 3 && p->fW == 3 && p->sH == 1 && p->sW == 1 && p->dH == 1 && p->dW == 1 && p->padT == 1 && p->padL == 1 &&
         p->outH == p->inH && p->outW == p->inW;
}

/* Rows shorter than this leave the direct kernel's 4-pixel blocks half empty: im2col wins there
 * (measured: 7x7 maps 25 % slower direct, 14x14 and up 1.2-4x faster). */
#define CONV3X3_MIN_WIDTH 8

/* Images per GEMM chunk so the column buffer stays under the soft limit (at least one). */
static int64_t images_per_chunk(const ConvParams *p, size_t colPerImage) {
  if (colPerImage == 0) return p->n > 0 ? p->n : 1;
  int64_t k = (int64_t)(SCRATCH_SOFT_LIMIT / colPerImage);
  if (k < 1) k = 1;
  if (k > p->n) k = p->n;
  /* cblas takes int dimensions. */
  while (k > 1 && (size_t)k * p->outH * p->outW > (size_t)INT32_MAX) k /= 2;
  return k;
}

/* col[(oh*outW+ow), (fh*fW+fw)*inC + c] = x[img, ih, iw, c] (0 outside the image). With unit
 * dilation the fW taps of one filter row are adjacent in x, so a row inside the image is one copy
 * of fW*inC floats (per-tap copies of inC floats cost more than the data for small inC). */
static void im2col(const ConvParams *p, const float *x, float *col) {
  const int64_t K = p->fH * p->fW * p->inC;
  const int64_t C = p->inC, span = p->fW * C;
  for (int64_t oh = 0; oh < p->outH; oh++) {
    for (int64_t ow = 0; ow < p->outW; ow++) {
      float *row = col + (oh * p->outW + ow) * K;
      const int64_t iw0 = ow * p->sW - p->padL;
      const int whole = p->dW == 1 && iw0 >= 0 && iw0 + p->fW <= p->inW;
      for (int64_t fh = 0; fh < p->fH; fh++) {
        const int64_t ih = oh * p->sH - p->padT + fh * p->dH;
        float *dst = row + fh * span;
        if (ih < 0 || ih >= p->inH) {
          memset(dst, 0, (size_t)span * sizeof(float));
        } else if (whole) {
          memcpy(dst, x + (ih * p->inW + iw0) * C, (size_t)span * sizeof(float));
        } else {
          for (int64_t fw = 0; fw < p->fW; fw++) {
            const int64_t iw = iw0 + fw * p->dW;
            if (iw < 0 || iw >= p->inW)
              memset(dst + fw * C, 0, (size_t)C * sizeof(float));
            else
              memcpy(dst + fw * C, x + (ih * p->inW + iw) * C, (size_t)C * sizeof(float));
          }
        }
      }
    }
  }
}

/* The adjoint of im2col: dx[img, ih, iw, c] += col[...] (dx must start zeroed); whole filter
 * rows inside the image as one run, as in im2col. */
static void col2im(const ConvParams *p, const float *col, float *dx) {
  const int64_t K = p->fH * p->fW * p->inC;
  const int64_t C = p->inC, span = p->fW * C;
  for (int64_t oh = 0; oh < p->outH; oh++) {
    for (int64_t ow = 0; ow < p->outW; ow++) {
      const float *row = col + (oh * p->outW + ow) * K;
      const int64_t iw0 = ow * p->sW - p->padL;
      const int whole = p->dW == 1 && iw0 >= 0 && iw0 + p->fW <= p->inW;
      for (int64_t fh = 0; fh < p->fH; fh++) {
        const int64_t ih = oh * p->sH - p->padT + fh * p->dH;
        if (ih < 0 || ih >= p->inH) continue;
        const float *src = row + fh * span;
        if (whole) {
          float *restrict dst = dx + (ih * p->inW + iw0) * C;
          for (int64_t i = 0; i < span; i++) dst[i] += src[i];
          continue;
        }
        for (int64_t fw = 0; fw < p->fW; fw++) {
          const int64_t iw = iw0 + fw * p->dW;
          if (iw < 0 || iw >= p->inW) continue;
          const float *s = src + fw * C;
          float *restrict dst = dx + (ih * p->inW + iw) * C;
          for (int64_t c = 0; c < C; c++) dst[c] += s[c];
        }
      }
    }
  }
}

enum { CONV_FORWARD, CONV_BACKPROP_INPUT, CONV_BACKPROP_FILTER };

/*
 * One entry point for the three convolutions, args (first, second, out, params):
 *   forward:          (x, filter, y)
 *   backprop input:   (dy, filter, dx)
 *   backprop filter:  (x, dy, dw)
 */
static napi_value conv_common(napi_env env, napi_callback_info info, int mode) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    throw_msg(env, "conv2d: expected 4 arguments");
    return NULL;
  }
  float *p0, *p1, *out;
  size_t l0, l1, lo;
  ConvParams p;
  if (!get_f32(env, argv[0], &p0, &l0) || !get_f32(env, argv[1], &p1, &l1) || !get_f32(env, argv[2], &out, &lo) ||
      !get_conv_params(env, argv[3], &p))
    return NULL;

  const size_t xSize = (size_t)p.n * p.inH * p.inW * p.inC;
  const size_t ySize = (size_t)p.n * p.outH * p.outW * p.outC;
  const size_t wSize = (size_t)p.fH * p.fW * p.inC * p.outC;
  const size_t need0 = mode == CONV_BACKPROP_INPUT ? ySize : xSize;
  const size_t need1 = mode == CONV_BACKPROP_FILTER ? ySize : wSize;
  const size_t needOut = mode == CONV_FORWARD ? ySize : mode == CONV_BACKPROP_INPUT ? xSize : wSize;
  if (l0 < need0 || l1 < need1 || lo < needOut) {
    throw_msg(env, "conv2d: an array is smaller than its shape");
    return NULL;
  }
  if (p.fH * p.fW * p.inC > INT32_MAX || p.outC > INT32_MAX) {
    throw_msg(env, "conv2d: filter too large");
    return NULL;
  }
  const int K = (int)(p.fH * p.fW * p.inC); /* columns of the im2col matrix */
  const int OC = (int)p.outC;
  const int64_t rowsPerImage = p.outH * p.outW;
  if (needOut == 0) return NULL;
  if (K == 0 || OC == 0 || rowsPerImage == 0 || p.n == 0) { /* nothing flows; zeros are the answer */
    memset(out, 0, needOut * sizeof(float));
    return NULL;
  }

  /* 3x3 'same' convolutions with 8k output channels: the direct kernel (conv3x3.c); the input
   * gradient is the same convolution of dy with the filter flipped and transposed. */
  if (is_3x3_same(&p) && p.inW >= CONV3X3_MIN_WIDTH && conv3x3_supported()) {
    int done = 0;
    if (mode == CONV_FORWARD && p.outC % 8 == 0) {
      done = conv3x3(p0, p1, out, p.n, p.inH, p.inW, p.inC, p.outC);
    } else if (mode == CONV_BACKPROP_INPUT && p.inC % 8 == 0) {
      float *wt = (float *)malloc(wSize * sizeof(float));
      done = wt ? 1 : -1;
      if (wt) {
        for (int64_t fh = 0; fh < 3; fh++)
          for (int64_t fw = 0; fw < 3; fw++)
            for (int64_t ic = 0; ic < p.inC; ic++)
              for (int64_t oc = 0; oc < p.outC; oc++)
                wt[((fh * 3 + fw) * p.outC + oc) * p.inC + ic] = p1[(((2 - fh) * 3 + (2 - fw)) * p.inC + ic) * p.outC + oc];
        done = conv3x3(p0, wt, out, p.n, p.inH, p.inW, p.outC, p.inC);
        free(wt);
      }
    }
    if (done < 0) {
      napi_throw_error(env, "E_NATIVE_MEMORY", "conv2d: out of memory");
      return NULL;
    }
    if (done) return NULL;
  }

  if (is_pointwise(&p) && (size_t)p.n * rowsPerImage <= (size_t)INT32_MAX) {
    const int M = (int)(p.n * rowsPerImage);
    if (mode == CONV_FORWARD) /* y[M,OC] = x[M,K] w[K,OC] */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, OC, K, 1.0f, p0, K, p1, OC, 0.0f, out, OC);
    else if (mode == CONV_BACKPROP_INPUT) /* dx[M,K] = dy[M,OC] w[K,OC]^T */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, OC, 1.0f, p0, OC, p1, OC, 0.0f, out, K);
    else /* dw[K,OC] = x[M,K]^T dy[M,OC] */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, OC, M, 1.0f, p0, K, p1, OC, 0.0f, out, OC);
    return NULL;
  }

  Scratch *s = get_scratch(env);
  const size_t colPerImage = (size_t)rowsPerImage * K;
  const int64_t chunk = images_per_chunk(&p, colPerImage);
  float *col = s ? scratch_get(s, colPerImage * chunk) : NULL;
  if (!col) {
    napi_throw_error(env, "E_NATIVE_MEMORY", "conv2d: cannot allocate the im2col buffer");
    return NULL;
  }
  const size_t xImage = (size_t)p.inH * p.inW * p.inC;
  const size_t yImage = (size_t)rowsPerImage * p.outC;
  /* The filter gradient as dwT[OC,K] = dy^T col when K > OC (then transposed into dw): OpenBLAS
   * runs that orientation ~15% faster for these tall-skinny products; for K <= OC it is slower. */
  float *dwT = NULL;
  if (mode == CONV_BACKPROP_FILTER && K > OC) {
    dwT = (float *)malloc((size_t)K * OC * sizeof(float));
    if (!dwT) {
      napi_throw_error(env, "E_NATIVE_MEMORY", "conv2d: cannot allocate the filter gradient buffer");
      return NULL;
    }
  }
  for (int64_t n0 = 0; n0 < p.n; n0 += chunk) {
    const int64_t nb = (p.n - n0 < chunk) ? p.n - n0 : chunk;
    const int M = (int)(nb * rowsPerImage);
    if (mode == CONV_FORWARD) {
      for (int64_t j = 0; j < nb; j++) im2col(&p, p0 + (n0 + j) * xImage, col + j * colPerImage);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, OC, K, 1.0f, col, K, p1, OC, 0.0f, out + n0 * yImage, OC);
    } else if (mode == CONV_BACKPROP_INPUT) {
      if (n0 == 0) memset(out, 0, needOut * sizeof(float)); /* col2im accumulates */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, OC, 1.0f, p0 + n0 * yImage, OC, p1, OC, 0.0f, col, K);
      for (int64_t j = 0; j < nb; j++) col2im(&p, col + j * colPerImage, out + (n0 + j) * xImage);
    } else {
      for (int64_t j = 0; j < nb; j++) im2col(&p, p0 + (n0 + j) * xImage, col + j * colPerImage);
      if (dwT)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, K, M, 1.0f, p1 + n0 * yImage, OC, col, K,
                    n0 == 0 ? 0.0f : 1.0f, dwT, K);
      else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, OC, M, 1.0f, col, K, p1 + n0 * yImage, OC,
                    n0 == 0 ? 0.0f : 1.0f, out, OC);
    }
  }
  if (dwT) {
    for (int64_t k = 0; k < K; k++)
      for (int64_t oc = 0; oc < OC; oc++) out[k * OC + oc] = dwT[oc * K + k];
    free(dwT);
  }
  return NULL;
}

static napi_value Conv2D(napi_env env, napi_callback_info info) { return conv_common(env, info, CONV_FORWARD); }
static napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) {
  return conv_common(env, info, CONV_BACKPROP_INPUT);
}
static napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) {
  return conv_common(env, info, CONV_BACKPROP_FILTER);
}

/* ---------- elementwise, strided copies, row reductions (float32) ---------- */

/*
 * Strided views: params = Int32Array [rank, shape[rank], strides of operand 0 [rank], strides of
 * operand 1 [rank], ...] (element strides, >= 0). The JS side merges contiguous dims first, so
 * rank is small; the innermost loop is specialised for unit and zero strides (vectorisable).
 */
#define MAX_RANK 8

typedef struct {
  int rank;
  int64_t shape[MAX_RANK];
  int64_t stride[3][MAX_RANK];
} View;

static int get_view(napi_env env, napi_value v, int operands, View *w) {
  int32_t *q;
  size_t len;
  if (!get_i32_opt(env, v, &q, &len)) return 0;
  if (!q || len < 1) return throw_msg(env, "view params missing");
  int r = q[0];
  if (r < 1 || r > MAX_RANK || len < (size_t)(1 + r * (1 + operands))) return throw_msg(env, "view params: bad rank or length");
  w->rank = r;
  for (int d = 0; d < r; d++) {
    w->shape[d] = q[1 + d];
    if (w->shape[d] < 0) return throw_msg(env, "view params: negative size");
    for (int o = 0; o < operands; o++) {
      w->stride[o][d] = q[1 + r * (1 + o) + d];
      if (w->stride[o][d] < 0) return throw_msg(env, "view params: negative stride");
    }
  }
  return 1;
}

static int64_t view_size(const View *w) {
  int64_t n = 1;
  for (int d = 0; d < w->rank; d++) n *= w->shape[d];
  return n;
}

/* One past the last element operand o touches from `offset` (0 when the view is empty). */
static int64_t view_extent(const View *w, int o, int64_t offset) {
  if (view_size(w) == 0) return 0;
  int64_t last = offset;
  for (int d = 0; d < w->rank; d++) last += (w->shape[d] - 1) * w->stride[o][d];
  return last + 1;
}

/* Advances the outer (all but the last) dims' counters and per-operand offsets. */
static inline void view_next(const View *w, int64_t *idx, int64_t *off, int operands) {
  for (int d = w->rank - 2; d >= 0; d--) {
    for (int o = 0; o < operands; o++) off[o] += w->stride[o][d];
    if (++idx[d] < w->shape[d]) return;
    for (int o = 0; o < operands; o++) off[o] -= w->stride[o][d] * w->shape[d];
    idx[d] = 0;
  }
}

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_SQDIFF, B_MAX, B_MIN, B_COUNT };

#define BIN_KERNEL(NAME, EXPR)                                                                  \
  static void NAME(const float *restrict a, int64_t sa, const float *restrict b, int64_t sb,  \
                   float *restrict o, int64_t n) {                                            \
    if (sa == 1 && sb == 1)                                                                     \
      for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); }             \
    else if (sa == 1 && sb == 0) {                                                              \
      const float y = b[0];                                                                     \
      for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }                       \
    } else if (sa == 0 && sb == 1) {                                                            \
      const float x = a[0];                                                                     \
      for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); }                       \
    } else                                                                                      \
      for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i] = (EXPR); }   \
  }

BIN_KERNEL(bin_add, x + y)
BIN_KERNEL(bin_sub, x - y)
BIN_KERNEL(bin_mul, x * y)
BIN_KERNEL(bin_div, x / y)
BIN_KERNEL(bin_pow, (float)pow((double)x, (double)y))
BIN_KERNEL(bin_sqdiff, (x - y) * (x - y))
/* NaN-propagating like tfjs' cpu Maximum/Minimum. */
BIN_KERNEL(bin_max, (x != x || y != y) ? NAN : (x > y ? x : y))
BIN_KERNEL(bin_min, (x != x || y != y) ? NAN : (x < y ? x : y))

typedef void (*BinFn)(const float *, int64_t, const float *, int64_t, float *, int64_t);
static const BinFn BIN_FNS[B_COUNT] = {bin_add, bin_sub, bin_mul, bin_div, bin_pow, bin_sqdiff, bin_max, bin_min};

/* binary(op, a, b, out, params): out (contiguous) = a op b over the view (operands: a, b). */
static napi_value Binary(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t op;
  float *a, *b, *o;
  size_t la, lb, lo;
  View w;
  if (argc < 5 || !get_int(env, argv[0], &op) || !get_f32(env, argv[1], &a, &la) || !get_f32(env, argv[2], &b, &lb) ||
      !get_f32(env, argv[3], &o, &lo) || !get_view(env, argv[4], 2, &w))
    return NULL;
  if (op < 0 || op >= B_COUNT) {
    throw_msg(env, "binary: unknown op");
    return NULL;
  }
  const int64_t n = view_size(&w);
  if ((int64_t)lo < n || (int64_t)la < view_extent(&w, 0, 0) || (int64_t)lb < view_extent(&w, 1, 0)) {
    throw_msg(env, "binary: an array is smaller than its view");
    return NULL;
  }
  if (n == 0) return NULL;
  BinFn fn = BIN_FNS[op];
  /* x^2 and x^3 by products in double (same float result as pow() up to rounding), ~10x cheaper. */
  if (op == B_POW && view_extent(&w, 1, 0) == 1 && (b[0] == 2.0f || b[0] == 3.0f)) {
    const int cube = b[0] == 3.0f;
    if (view_extent(&w, 0, 0) == n) {
      for (int64_t i = 0; i < n; i++) {
        const double x = a[i];
        o[i] = (float)(cube ? x * x * x : x * x);
      }
      return NULL;
    }
  }
  const int r = w.rank;
  const int64_t inner = w.shape[r - 1], outer = n / inner;
  int64_t idx[MAX_RANK] = {0}, off[2] = {0, 0};
  for (int64_t i = 0; i < outer; i++) {
    fn(a + off[0], w.stride[0][r - 1], b + off[1], w.stride[1][r - 1], o + i * inner, inner);
    view_next(&w, idx, off, 2);
  }
  return NULL;
}

/* U_STEP (relu's gradient) takes a parameter: x > 0 ? 1 : alpha, NaN stays NaN. */
enum { U_EXP, U_LOG, U_TANH, U_SQRT, U_RSQRT, U_SQUARE, U_NEG, U_ABS, U_RELU, U_SIGMOID, U_RECIPROCAL, U_STEP, U_COUNT };

#define UN_KERNEL(NAME, EXPR)                                                        \
  static void NAME(const float *restrict in, float *restrict o, int64_t n) {         \
    for (int64_t i = 0; i < n; i++) { float x = in[i]; o[i] = (EXPR); }              \
  }
UN_KERNEL(un_exp, expf(x))
UN_KERNEL(un_log, logf(x))
UN_KERNEL(un_tanh, tanhf(x))
UN_KERNEL(un_sqrt, sqrtf(x))
UN_KERNEL(un_rsqrt, 1.0f / sqrtf(x))
UN_KERNEL(un_square, x * x)
UN_KERNEL(un_neg, -x)
UN_KERNEL(un_abs, fabsf(x))
UN_KERNEL(un_relu, x < 0.0f ? 0.0f : x)
UN_KERNEL(un_sigmoid, 1.0f / (1.0f + expf(-x)))
UN_KERNEL(un_reciprocal, 1.0f / x)

typedef void (*UnFn)(const float *, float *, int64_t);
static const UnFn UN_FNS[U_STEP] = {un_exp, un_log, un_tanh, un_sqrt, un_rsqrt, un_square,
                                    un_neg, un_abs, un_relu, un_sigmoid, un_reciprocal};

/* unary(op, x, out[, param]): out[i] = op(x[i]) over two contiguous arrays of equal length. */
static napi_value Unary(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t op;
  float *x, *o;
  size_t lx, lo;
  if (argc < 3 || !get_int(env, argv[0], &op) || !get_f32(env, argv[1], &x, &lx) || !get_f32(env, argv[2], &o, &lo)) return NULL;
  if (op < 0 || op >= U_COUNT || lx != lo) {
    throw_msg(env, "unary: unknown op or length mismatch");
    return NULL;
  }
  if (op == U_STEP) {
    double alpha = 0;
    if (argc > 3 && !get_double(env, argv[3], &alpha)) return NULL;
    const float a = (float)alpha;
    for (size_t i = 0; i < lx; i++) o[i] = x[i] != x[i] ? NAN : (x[i] > 0.0f ? 1.0f : a);
    return NULL;
  }
  UN_FNS[op](x, o, (int64_t)lx);
  return NULL;
}

/*
 * copy(src, srcOffset, dst, dstOffset, params): dst[dstOffset + view(1)] = src[srcOffset + view(0)].
 * Transpose, non-contiguous slices, splits and concatenation are all this one strided copy.
 */
static napi_value Copy(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *s, *d;
  size_t ls, ld;
  int64_t so, dofs;
  View w;
  if (argc < 5 || !get_f32(env, argv[0], &s, &ls) || !get_int(env, argv[1], &so) || !get_f32(env, argv[2], &d, &ld) ||
      !get_int(env, argv[3], &dofs) || !get_view(env, argv[4], 2, &w))
    return NULL;
  if (so < 0 || dofs < 0 || (int64_t)ls < view_extent(&w, 0, so) || (int64_t)ld < view_extent(&w, 1, dofs)) {
    throw_msg(env, "copy: an array is smaller than its view");
    return NULL;
  }
  const int64_t n = view_size(&w);
  if (n == 0) return NULL;
  const int r = w.rank;
  const int64_t inner = w.shape[r - 1], outer = n / inner;
  const int64_t ss = w.stride[0][r - 1], ds = w.stride[1][r - 1];
  int64_t idx[MAX_RANK] = {0}, off[2] = {so, dofs};
  for (int64_t i = 0; i < outer; i++) {
    const float *restrict ps = s + off[0];
    float *restrict pd = d + off[1];
    if (ss == 1 && ds == 1)
      memcpy(pd, ps, (size_t)inner * sizeof(float));
    else
      for (int64_t j = 0; j < inner; j++) pd[j * ds] = ps[j * ss];
    view_next(&w, idx, off, 2);
  }
  return NULL;
}

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_COUNT };

/* reduceRows(op, x, out, rows, cols): out[r] = reduce(x[r*cols .. r*cols+cols-1]); sums in double. */
static napi_value ReduceRows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t op, rows, cols;
  float *x, *o;
  size_t lx, lo;
  if (argc < 5 || !get_int(env, argv[0], &op) || !get_f32(env, argv[1], &x, &lx) || !get_f32(env, argv[2], &o, &lo) ||
      !get_int(env, argv[3], &rows) || !get_int(env, argv[4], &cols))
    return NULL;
  if (op < 0 || op >= R_COUNT || rows < 0 || cols < 1 || (int64_t)lx < rows * cols || (int64_t)lo < rows) {
    throw_msg(env, "reduceRows: invalid arguments");
    return NULL;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols;
    if (op == R_SUM || op == R_MEAN) {
      double acc = 0;
      for (int64_t j = 0; j < cols; j++) acc += p[j];
      o[r] = (float)(op == R_MEAN ? acc / (double)cols : acc);
    } else {
      float m = p[0];
      int nan = m != m;
      for (int64_t j = 1; j < cols; j++) {
        const float v = p[j];
        nan |= v != v;
        if (op == R_MAX ? v > m : v < m) m = v;
      }
      o[r] = nan ? NAN : m;
    }
  }
  return NULL;
}

/* softmaxRows(x, out, rows, cols): numerically stable softmax of each row. */
static napi_value SoftmaxRows(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t rows, cols;
  float *x, *o;
  size_t lx, lo;
  if (argc < 4 || !get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &o, &lo) || !get_int(env, argv[2], &rows) ||
      !get_int(env, argv[3], &cols))
    return NULL;
  if (rows < 0 || cols < 1 || (int64_t)lx < rows * cols || (int64_t)lo < rows * cols) {
    throw_msg(env, "softmaxRows: invalid arguments");
    return NULL;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols;
    float *q = o + r * cols;
    float m = p[0];
    for (int64_t j = 1; j < cols; j++) m = p[j] > m ? p[j] : m;
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) {
      q[j] = expf(p[j] - m);
      sum += q[j];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < cols; j++) q[j] *= inv;
  }
  return NULL;
}

/* ---------- threads and info ---------- */

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t n;
  if (argc < 1 || !get_int(env, argv[0], &n)) return NULL;
  if (n < 1 || n > 4096) {
    throw_msg(env, "setThreads: expected 1 to 4096");
    return NULL;
  }
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, openblas_get_num_threads(), &r);
  return r;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  const char *cfg = openblas_get_config();
  const char *core = openblas_get_corename();
  napi_value r, v;
  napi_create_object(env, &r);
  napi_create_string_utf8(env, cfg ? cfg : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, r, "config", v);
  napi_create_string_utf8(env, core ? core : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, r, "core", v);
  return r;
}

static napi_value ScratchBytes(napi_env env, napi_callback_info info) {
  (void)info;
  Scratch *s = get_scratch(env);
  napi_value r;
  napi_create_double(env, s ? (double)s->cap * sizeof(float) : 0, &r);
  return r;
}

NAPI_MODULE_INIT() {
  Scratch *s = (Scratch *)calloc(1, sizeof(Scratch));
  if (s) napi_set_instance_data(env, s, scratch_finalize, NULL);
  napi_property_descriptor props[] = {
      {"matmul", NULL, Matmul, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2d", NULL, Conv2D, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2dBackpropInput", NULL, Conv2DBackpropInput, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2dBackpropFilter", NULL, Conv2DBackpropFilter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"config", NULL, Config, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scratchBytes", NULL, ScratchBytes, NULL, NULL, NULL, napi_enumerable, NULL},
      {"binary", NULL, Binary, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unary", NULL, Unary, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copy", NULL, Copy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reduceRows", NULL, ReduceRows, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmaxRows", NULL, SoftmaxRows, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  register_fused(env, exports);
  register_attention(env, exports);
  register_activation(env, exports);
  register_group_norm(env, exports);
  register_pool(env, exports);
  register_gather(env, exports);
  register_optim(env, exports);
  register_reduce_blocks(env, exports);
  return exports;
}
