/*
 * Elementwise activations with their gradients, for training graphs where the composed tanh-GELU
 * is ~9 ops forward and ~15 backward over the MLP's widest tensor.
 *
 *   activation(x, out, n, act)           out = act(x)
 *   activationGrad(dy, x, dx, n, act)    dx = dy * act'(x)
 * act: the ACT_* codes of activation.h. Split over threads in contiguous ranges.
 */
#include "common.h"
#include "activation.h"

typedef struct {
  const float *x, *dy;
  float *out;
  int act;
} ActTask;

/* One loop per activation (the switch outside it), so each vectorises. */
#define ACT_LOOP(expr)                    \
  for (int64_t i = lo; i < hi; i++) {     \
    const float v = x[i];                 \
    out[i] = (expr);                      \
  }

/* Backward: dy read unconditionally, so the relu select if-converts too. */
#define ACT_GRAD_LOOP(expr)               \
  for (int64_t i = lo; i < hi; i++) {     \
    const float v = x[i], d = dy[i];      \
    out[i] = (expr);                      \
  }

static void forward_range(void *ctx, int64_t lo, int64_t hi) {
  const ActTask *t = (const ActTask *)ctx;
  const float *restrict x = t->x;
  float *restrict out = t->out;
  switch (t->act) {
    case ACT_RELU: ACT_LOOP(v > 0.0f ? v : 0.0f) break;
    case ACT_GELU_TANH: ACT_LOOP(gelu_tanh(v)) break;
    case ACT_GELU_ERF: ACT_LOOP(gelu_erf(v)) break;
    case ACT_SILU: ACT_LOOP(silu(v)) break;
    default: ACT_LOOP(v) break;
  }
}

static void backward_range(void *ctx, int64_t lo, int64_t hi) {
  const ActTask *t = (const ActTask *)ctx;
  const float *restrict x = t->x, *restrict dy = t->dy;
  float *restrict out = t->out;
  switch (t->act) {
    case ACT_RELU: ACT_GRAD_LOOP(v > 0.0f ? d : 0.0f) break;
    case ACT_GELU_TANH: ACT_GRAD_LOOP(d * gelu_tanh_grad(v)) break;
    case ACT_GELU_ERF: ACT_GRAD_LOOP(d * gelu_erf_grad(v)) break;
    case ACT_SILU: ACT_GRAD_LOOP(d * silu_grad(v)) break;
    default: ACT_GRAD_LOOP(d) break;
  }
}

/* Below this many elements per thread a second thread costs more than it saves. */
#define ACT_MIN_PER_THREAD 32768

static napi_value Activation(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float *x, *o;
  size_t lx, lo;
  int64_t n, act;
  if (!get_args(env, info, 4, argv, "activation") || !get_f32(env, argv[0], &x, &lx) || !get_f32(env, argv[1], &o, &lo) ||
      !get_int(env, argv[2], &n) || !get_int(env, argv[3], &act))
    return NULL;
  if (n < 0 || (int64_t)lx < n || (int64_t)lo < n || act < 0 || act >= ACT_COUNT) {
    throw_msg(env, "activation: invalid arguments");
    return NULL;
  }
  ActTask t = {x, NULL, o, (int)act};
  parallel_range(n, ACT_MIN_PER_THREAD, forward_range, &t);
  return NULL;
}

static napi_value ActivationGrad(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *dy, *x, *dx;
  size_t ldy, lx, ldx;
  int64_t n, act;
  if (!get_args(env, info, 5, argv, "activationGrad") || !get_f32(env, argv[0], &dy, &ldy) || !get_f32(env, argv[1], &x, &lx) ||
      !get_f32(env, argv[2], &dx, &ldx) || !get_int(env, argv[3], &n) || !get_int(env, argv[4], &act))
    return NULL;
  if (n < 0 || (int64_t)ldy < n || (int64_t)lx < n || (int64_t)ldx < n || act < 0 || act >= ACT_COUNT) {
    throw_msg(env, "activationGrad: invalid arguments");
    return NULL;
  }
  ActTask t = {x, dy, dx, (int)act};
  parallel_range(n, ACT_MIN_PER_THREAD, backward_range, &t);
  return NULL;
}

void register_activation(napi_env env, napi_value exports) {
  define_fn(env, exports, "activation", Activation);
  define_fn(env, exports, "activationGrad", ActivationGrad);
}
