/*
 * Row gathers and their adjoint (tf.gather and its gradient's UnsortedSegmentSum). Rows are copied
 * as raw 4-byte words, so int32 tensors gather through the same code (viewed as Float32Array).
 *
 *   gather(x, indices, out, batch, outer, dimSize, inner)
 *       x [batch, outer, dimSize, inner], indices [batch, nIdx] -> out [batch, outer, nIdx, inner]
 *       (indices are checked by the caller; out-of-range ones throw here too)
 *   segmentSum(x, ids, out, numSegments, inner)
 *       out[s, :] = sum of x[i, :] over i with ids[i] == s (ids outside [0, numSegments) are
 *       dropped, as tfjs does); sums in double, in increasing i
 */
#include "common.h"

static napi_value Gather(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  float *x, *o;
  int32_t *idx;
  size_t lx, lidx, lo;
  int64_t batch, outer, dimSize, inner;
  if (!get_args(env, info, 7, argv, "gather") || !get_f32(env, argv[0], &x, &lx) || !get_i32_opt(env, argv[1], &idx, &lidx) ||
      !get_f32(env, argv[2], &o, &lo) || !get_int(env, argv[3], &batch) || !get_int(env, argv[4], &outer) ||
      !get_int(env, argv[5], &dimSize) || !get_int(env, argv[6], &inner))
    return NULL;
  if (!idx || batch < 1 || outer < 0 || dimSize < 0 || inner < 0 || lidx % batch != 0) {
    throw_msg(env, "gather: invalid arguments");
    return NULL;
  }
  const int64_t nIdx = (int64_t)lidx / batch;
  if ((int64_t)lx < batch * outer * dimSize * inner || (int64_t)lo < batch * outer * nIdx * inner) {
    throw_msg(env, "gather: an array is smaller than its shape");
    return NULL;
  }
  for (int64_t i = 0; i < (int64_t)lidx; i++) {
    if (idx[i] < 0 || idx[i] >= dimSize) {
      throw_msg(env, "gather: index out of range");
      return NULL;
    }
  }
  const size_t row = (size_t)inner * sizeof(float);
  for (int64_t b = 0; b < batch; b++) {
    const int32_t *ib = idx + b * nIdx;
    for (int64_t q = 0; q < outer; q++) {
      const float *src = x + (b * outer + q) * dimSize * inner;
      float *dst = o + (b * outer + q) * nIdx * inner;
      for (int64_t i = 0; i < nIdx; i++) memcpy(dst + i * inner, src + (int64_t)ib[i] * inner, row);
    }
  }
  return NULL;
}

static napi_value SegmentSum(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *x, *o;
  int32_t *ids;
  size_t lx, lids, lo;
  int64_t numSegments, inner;
  if (!get_args(env, info, 5, argv, "segmentSum") || !get_f32(env, argv[0], &x, &lx) || !get_i32_opt(env, argv[1], &ids, &lids) ||
      !get_f32(env, argv[2], &o, &lo) || !get_int(env, argv[3], &numSegments) || !get_int(env, argv[4], &inner))
    return NULL;
  if (!ids || numSegments < 0 || inner < 0 || (int64_t)lx < (int64_t)lids * inner || (int64_t)lo < numSegments * inner) {
    throw_msg(env, "segmentSum: invalid arguments");
    return NULL;
  }
  const size_t n = (size_t)(numSegments * inner);
  double *acc = (double *)calloc(n ? n : 1, sizeof(double));
  if (!acc) {
    napi_throw_error(env, "E_NATIVE_MEMORY", "segmentSum: out of memory");
    return NULL;
  }
  for (size_t i = 0; i < lids; i++) {
    const int64_t s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const float *src = x + (int64_t)i * inner;
    double *dst = acc + s * inner;
    for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
  }
  for (size_t k = 0; k < n; k++) o[k] = (float)acc[k];
  free(acc);
  return NULL;
}

void register_gather(napi_env env, napi_value exports) {
  define_fn(env, exports, "gather", Gather);
  define_fn(env, exports, "segmentSum", SegmentSum);
}
