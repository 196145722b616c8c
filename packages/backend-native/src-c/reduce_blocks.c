/*
 * Sums / means over reduced axes that are not the trailing ones, without the transpose that
 * reduceRows needs first (a conv bias gradient reduces NHWC over N, H, W; GroupNorm over the
 * positions and the channels of a group, [N, HW, G, C/G] over axes 1 and 3).
 *
 *   reduceBlocks(mean, x, out, sizes, reduced)
 *       x is viewed as blocks of merged axes, sizes[b] (outermost first), reduced[b] = 1 where the
 *       block is summed; out holds the kept blocks in order. Accumulates in double while reading x
 *       once in memory order; mean != 0 divides by the number of reduced elements.
 */
#include "common.h"

#define MAX_BLOCKS 16

static napi_value ReduceBlocks(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  bool mean;
  float *x, *o;
  int32_t *sizes, *red;
  size_t lx, lo, ls, lr;
  if (!get_args(env, info, 5, argv, "reduceBlocks") || !get_bool(env, argv[0], &mean) || !get_f32(env, argv[1], &x, &lx) ||
      !get_f32(env, argv[2], &o, &lo) || !get_i32_opt(env, argv[3], &sizes, &ls) || !get_i32_opt(env, argv[4], &red, &lr))
    return NULL;
  if (!sizes || !red || ls != lr || ls < 1 || ls > MAX_BLOCKS) {
    throw_msg(env, "reduceBlocks: invalid block description");
    return NULL;
  }
  const int nb = (int)ls;
  int64_t total = 1, outSize = 1, count = 1;
  int64_t ostride[MAX_BLOCKS];
  for (int b = nb - 1; b >= 0; b--) {
    if (sizes[b] < 1) {
      throw_msg(env, "reduceBlocks: empty block");
      return NULL;
    }
    total *= sizes[b];
    ostride[b] = red[b] ? 0 : outSize;
    if (red[b]) count *= sizes[b];
    else outSize *= sizes[b];
  }
  if ((int64_t)lx < total || (int64_t)lo < outSize) {
    throw_msg(env, "reduceBlocks: an array is smaller than its shape");
    return NULL;
  }
  double *acc = (double *)calloc((size_t)outSize, sizeof(double));
  if (!acc) {
    throw_msg(env, "reduceBlocks: out of memory");
    return NULL;
  }
  const int64_t inner = sizes[nb - 1];
  const int innerReduced = red[nb - 1] != 0;
  int64_t idx[MAX_BLOCKS] = {0};
  int64_t obase = 0;
  for (int64_t off = 0; off < total; off += inner) {
    const float *src = x + off;
    if (innerReduced) {
      double s = 0;
      for (int64_t j = 0; j < inner; j++) s += src[j];
      acc[obase] += s;
    } else {
      double *dst = acc + obase;
      for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
    }
    /* odometer over the outer blocks, keeping obase = sum idx[b] * ostride[b] */
    for (int b = nb - 2; b >= 0; b--) {
      obase += ostride[b];
      if (++idx[b] < sizes[b]) break;
      obase -= ostride[b] * sizes[b];
      idx[b] = 0;
    }
  }
  const double scale = mean ? 1.0 / (double)count : 1.0;
  for (int64_t k = 0; k < outSize; k++) o[k] = (float)(acc[k] * scale);
  free(acc);
  return NULL;
}

void register_reduce_blocks(napi_env env, napi_value exports) {
  define_fn(env, exports, "reduceBlocks", ReduceBlocks);
}
