/* Elementwise activations and their derivatives, shared by the fused linear layer and the
 * activation kernels (same float formulas, so fused and unfused paths agree). */
#ifndef NUTSHELL_ACTIVATION_H
#define NUTSHELL_ACTIVATION_H
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { ACT_NONE, ACT_RELU, ACT_GELU_TANH, ACT_GELU_ERF, ACT_SILU, ACT_COUNT };

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f

/* e^x in float without a libm call, so loops over it vectorise: Cephes' expf (range reduction by
 * ln 2 split in two parts, degree-6 polynomial, 2^n built in the exponent bits); within ~1 ulp of
 * expf for |x| < 87, saturating beyond. */
static inline float exp_fast(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  const float n = floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* tanh(u) = 1 - 2 / (e^(2u) + 1): absolute error ~1e-7 (what GELU's 1 + tanh needs). */
static inline float tanh_fast(float u) {
  return 1.0f - 2.0f / (exp_fast(2.0f * u) + 1.0f);
}

static inline float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanh_fast(GELU_K * (x + GELU_C * x * x * x)));
}

static inline float gelu_tanh_grad(float x) {
  const float t = tanh_fast(GELU_K * (x + GELU_C * x * x * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
}

static inline float gelu_erf(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
}

/* Phi(x) + x phi(x). */
static inline float gelu_erf_grad(float x) {
  return 0.5f * (1.0f + erff(x * 0.7071067811865476f)) + x * 0.3989422804014327f * exp_fast(-0.5f * x * x);
}

static inline float silu(float x) {
  return x / (1.0f + exp_fast(-x));
}

static inline float silu_grad(float x) {
  const float s = 1.0f / (1.0f + exp_fast(-x));
  return s * (1.0f + x * (1.0f - s));
}

static inline float activate(float x, int act) {
  switch (act) {
    case ACT_RELU:
      return x < 0.0f ? 0.0f : x;
    case ACT_GELU_TANH:
      return gelu_tanh(x);
    case ACT_GELU_ERF:
      return gelu_erf(x);
    case ACT_SILU:
      return silu(x);
    default:
      return x;
  }
}
#endif
