/*
 * Shared by the addon's translation units: OpenBLAS declarations, the per-environment scratch
 * buffer and N-API argument helpers (each returns 0 and leaves a pending exception on failure).
 */
#ifndef NUTSHELL_COMMON_H
#define NUTSHELL_COMMON_H
#define _POSIX_C_SOURCE 200112L /* posix_memalign under -std=c11 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>

/* Declared here too because some cblas.h variants (netlib's) lack them. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

/* AVX2+FMA clones of the hot loops where the toolchain can dispatch at load time (the rest of the
 * addon is built for a portable x86-64-v2 baseline). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__((target_clones("arch=haswell", "default")))
#else
#define HOT_LOOP
#endif

/* ---------- a parallel loop over [0, n) for the addon's own kernels ----------
 * Up to openblas_get_num_threads() threads (this one included), fresh per call: the kernels using
 * it run for a millisecond or more, against tens of microseconds to start a thread. Each index is
 * handled by exactly one thread, so results do not depend on the thread count. */
typedef void (*range_fn)(void *ctx, int64_t lo, int64_t hi);

typedef struct {
  range_fn fn;
  void *ctx;
  int64_t lo, hi;
} RangeTask;

static void *range_thread(void *p) {
  RangeTask *t = (RangeTask *)p;
  t->fn(t->ctx, t->lo, t->hi);
  return NULL;
}

#define MAX_KERNEL_THREADS 8

static inline void parallel_range(int64_t n, int64_t min_per_thread, range_fn fn, void *ctx) {
  int64_t threads = openblas_get_num_threads();
  if (threads > MAX_KERNEL_THREADS) threads = MAX_KERNEL_THREADS;
  if (min_per_thread < 1) min_per_thread = 1;
  if (threads > n / min_per_thread) threads = n / min_per_thread;
  if (threads <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  pthread_t tid[MAX_KERNEL_THREADS];
  RangeTask task[MAX_KERNEL_THREADS];
  int started[MAX_KERNEL_THREADS] = {0};
  for (int64_t i = 1; i < threads; i++) {
    task[i] = (RangeTask){fn, ctx, n * i / threads, n * (i + 1) / threads};
    started[i] = pthread_create(&tid[i], NULL, range_thread, &task[i]) == 0;
    if (!started[i]) fn(ctx, task[i].lo, task[i].hi); /* no thread: do its share here */
  }
  fn(ctx, 0, n / threads);
  for (int64_t i = 1; i < threads; i++)
    if (started[i]) pthread_join(tid[i], NULL);
}

/* Largest im2col chunk in floats (256 MiB); chunks always hold at least one image. */
#define SCRATCH_SOFT_LIMIT ((size_t)64 * 1024 * 1024)

typedef struct {
  float *buf;
  size_t cap; /* floats */
} Scratch;

static inline float *scratch_get(Scratch *s, size_t n) {
  if (n == 0) n = 1;
  if (n <= s->cap) return s->buf;
  free(s->buf);
  s->buf = NULL;
  s->cap = 0;
  void *p = NULL;
  if (posix_memalign(&p, 64, n * sizeof(float)) != 0) return NULL;
  s->buf = (float *)p;
  s->cap = n;
  return s->buf;
}

static inline void scratch_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Scratch *s = (Scratch *)data;
  free(s->buf);
  free(s);
}

/* ---------- argument helpers (return 0 and leave a pending exception on failure) ---------- */

static inline int throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "E_NATIVE_ARGUMENT", msg);
  return 0;
}

static inline int get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return throw_msg(env, "expected a Float32Array");
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return throw_msg(env, "cannot read typed array");
  if (type != napi_float32_array) return throw_msg(env, "expected a Float32Array");
  *data = (float *)ptr;
  return 1;
}

/* Optional Int32Array: null/undefined gives NULL. */
static inline int get_i32_opt(napi_env env, napi_value v, int32_t **data, size_t *len) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) {
    *data = NULL;
    *len = 0;
    return 1;
  }
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return throw_msg(env, "expected an Int32Array or null");
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return throw_msg(env, "cannot read typed array");
  if (type != napi_int32_array) return throw_msg(env, "expected an Int32Array");
  *data = (int32_t *)ptr;
  return 1;
}

static inline int get_int(napi_env env, napi_value v, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) return throw_msg(env, "expected an integer");
  return 1;
}

static inline int get_bool(napi_env env, napi_value v, bool *out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return throw_msg(env, "expected a boolean");
  return 1;
}

static inline Scratch *get_scratch(napi_env env) {
  Scratch *s = NULL;
  napi_get_instance_data(env, (void **)&s);
  return s;
}

/* Optional Float32Array: null/undefined gives NULL. */
static inline int get_f32_opt(napi_env env, napi_value v, float **data, size_t *len) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) {
    *data = NULL;
    *len = 0;
    return 1;
  }
  return get_f32(env, v, data, len);
}

static inline int get_double(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return throw_msg(env, "expected a number");
  return 1;
}

/* Reads exactly `n` arguments (throws when fewer were passed). */
static inline int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *name) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < n) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: expected %zu arguments", name, n);
    return throw_msg(env, msg);
  }
  return 1;
}

static inline void define_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

/* Kernels defined in the other translation units, added to the module's exports. */
void register_fused(napi_env env, napi_value exports);
void register_attention(napi_env env, napi_value exports);
void register_activation(napi_env env, napi_value exports);
void register_group_norm(napi_env env, napi_value exports);
int conv3x3_supported(void);
int conv3x3(const float *x, const float *w, float *out, int64_t N, int64_t H, int64_t W, int64_t IC, int64_t OC);
void register_pool(napi_env env, napi_value exports);
void register_gather(napi_env env, napi_value exports);
void register_optim(napi_env env, napi_value exports);
void register_reduce_blocks(napi_env env, napi_value exports);

#endif
