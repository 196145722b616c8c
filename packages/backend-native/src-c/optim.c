/*
 * Fused optimizer updates: one pass over a parameter instead of ~12 elementwise kernel dispatches
 * (each allocating a fresh output) per parameter tensor and step.
 *
 *   adam(p, g, m, v, pOut, mOut, vOut, coef)      coef = Float64Array [decay, b1, 1-b1, b2, 1-b2,
 *                                                  sqrt(bc2), eps, stepSize, l2]
 *       (g' = g + l2*p when l2 != 0: Adam's coupled weight decay)
 *       m' = m*b1 + g'*(1-b1); v' = v*b2 + (g'*g')*(1-b2)
 *       p' = p*decay - (m' / (sqrt(v')/sqrt(bc2) + eps)) * stepSize      (decay: AdamW's 1 - lr*wd)
 * Every operation is rounded to float32 in the order nn's composed AdamW applies them (the
 * coefficients are rounded to float32 first, as tfjs does with scalar operands; -std=c11 keeps
 * GCC from contracting to FMA), so results match the composed update bit for bit on this backend.
 * Outputs may alias their inputs (pOut == p, ...): each element is read before it is written.
 */
#include "common.h"

static napi_value Adam(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  float *p, *g, *m, *v, *po, *mo, *vo;
  size_t lp, lg, lm, lv, lpo, lmo, lvo;
  if (!get_args(env, info, 8, argv, "adam") || !get_f32(env, argv[0], &p, &lp) || !get_f32(env, argv[1], &g, &lg) ||
      !get_f32(env, argv[2], &m, &lm) || !get_f32(env, argv[3], &v, &lv) || !get_f32(env, argv[4], &po, &lpo) ||
      !get_f32(env, argv[5], &mo, &lmo) || !get_f32(env, argv[6], &vo, &lvo))
    return NULL;
  bool is_ta = false;
  napi_typedarray_type type;
  size_t lc = 0;
  void *cp = NULL;
  if (napi_is_typedarray(env, argv[7], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[7], &type, &lc, &cp, NULL, NULL) != napi_ok || type != napi_float64_array || lc < 9) {
    throw_msg(env, "adam: coef must be a Float64Array of 9 values");
    return NULL;
  }
  if (lg != lp || lm != lp || lv != lp || lpo != lp || lmo != lp || lvo != lp) {
    throw_msg(env, "adam: arrays differ in length");
    return NULL;
  }
  const double *c = (const double *)cp;
  const float decay = (float)c[0], b1 = (float)c[1], omb1 = (float)c[2], b2 = (float)c[3], omb2 = (float)c[4];
  const float sbc2 = (float)c[5], eps = (float)c[6], stepSize = (float)c[7], l2 = (float)c[8];
  const int hasDecay = c[0] != 1.0, hasL2 = c[8] != 0.0;
  for (size_t i = 0; i < lp; i++) {
    const float pi = p[i];
    float gi = g[i];
    if (hasL2) gi = gi + pi * l2;
    const float mi = m[i] * b1 + gi * omb1;
    const float vi = v[i] * b2 + (gi * gi) * omb2;
    const float base = hasDecay ? pi * decay : pi;
    const float denom = sqrtf(vi) / sbc2 + eps;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = base - (mi / denom) * stepSize;
  }
  return NULL;
}

void register_optim(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"adam", NULL, Adam, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
