/*
 * Direct 3x3 convolution (stride 1, 'same' padding, NHWC input, HWIO filter) for the shapes of
 * U-Nets and small CNNs, where im2col + SGEMM spends as long building and streaming a 9x larger
 * column matrix as multiplying it. The input is copied once into a zero-padded buffer; each
 * output row is then computed in blocks of 4 pixels x 16 (or 8) output channels held in AVX2
 * registers, accumulating x[pixel, ic] * w[fh, fw, ic, oc..] with FMA. Rows are split over
 * threads; every output element is computed by one thread in a fixed order.
 *
 * The backward pass for the input is the same convolution of dy with the filter flipped in space
 * and transposed in channels, so it runs through the same kernel.
 *
 *   conv3x3_supported()                  whether this CPU has AVX2 + FMA (x86-64 GCC builds; set
 *                                        NUTSHELL_NATIVE_NO_CONV3X3 to use im2col + SGEMM instead)
 *   conv3x3(x, w, out, n, h, w, ic, oc)  out[n, h, w, oc] for oc % 8 == 0; returns 1 when done,
 *                                        0 when unsupported (caller falls back), -1 out of memory
 */
#include "common.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define CONV3X3_X86 1
#endif

int conv3x3_supported(void) {
#ifdef CONV3X3_X86
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !getenv("NUTSHELL_NATIVE_NO_CONV3X3");
  }
  return cached;
#else
  return 0;
#endif
}

#ifdef CONV3X3_X86
typedef struct {
  const float *xp; /* padded input [N, H+2, W+2, IC] (+ slack) */
  const float *w;  /* [3, 3, IC, OC] */
  float *out;      /* [N, H, W, OC] */
  int64_t N, H, W, IC, OC;
} Conv3Task;

/* One output row (n, oh): blocks of 4 pixels x OB output channels (OB = 16 or 8). */
__attribute__((target("avx2,fma"))) static void conv_row(const Conv3Task *t, int64_t n, int64_t oh) {
  const int64_t W = t->W, IC = t->IC, OC = t->OC, Wp = W + 2;
  const float *rows[3];
  for (int fh = 0; fh < 3; fh++) rows[fh] = t->xp + ((n * (t->H + 2) + oh + fh) * Wp) * IC;
  float *orow = t->out + (n * t->H + oh) * W * OC;
  for (int64_t oc = 0; oc < OC; oc += 16) {
    const int two = oc + 16 <= OC; /* 16 channels in two registers, else 8 */
    for (int64_t ow = 0; ow < W; ow += 4) {
      const int64_t np = W - ow < 4 ? W - ow : 4;
      __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
      __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(), a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
      for (int fh = 0; fh < 3; fh++) {
        for (int fw = 0; fw < 3; fw++) {
          /* pixel p reads padded column ow + p + fw; the slack keeps p >= np reads in bounds */
          const float *x0 = rows[fh] + (ow + fw) * IC;
          const float *wk = t->w + ((int64_t)(fh * 3 + fw) * IC) * OC + oc;
          for (int64_t ic = 0; ic < IC; ic++) {
            const __m256 w0 = _mm256_loadu_ps(wk + ic * OC);
            const __m256 w1 = _mm256_loadu_ps(wk + ic * OC + (two ? 8 : 0)); /* a repeat, discarded, for 8 */
            const __m256 b0 = _mm256_broadcast_ss(x0 + ic);
            const __m256 b1 = _mm256_broadcast_ss(x0 + IC + ic);
            const __m256 b2 = _mm256_broadcast_ss(x0 + 2 * IC + ic);
            const __m256 b3 = _mm256_broadcast_ss(x0 + 3 * IC + ic);
            a00 = _mm256_fmadd_ps(b0, w0, a00);
            a10 = _mm256_fmadd_ps(b1, w0, a10);
            a20 = _mm256_fmadd_ps(b2, w0, a20);
            a30 = _mm256_fmadd_ps(b3, w0, a30);
            a01 = _mm256_fmadd_ps(b0, w1, a01);
            a11 = _mm256_fmadd_ps(b1, w1, a11);
            a21 = _mm256_fmadd_ps(b2, w1, a21);
            a31 = _mm256_fmadd_ps(b3, w1, a31);
          }
        }
      }
      const __m256 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
      for (int64_t p = 0; p < np; p++) {
        float *o = orow + (ow + p) * OC + oc;
        _mm256_storeu_ps(o, acc[p][0]);
        if (two) _mm256_storeu_ps(o + 8, acc[p][1]);
      }
    }
  }
}

static void conv_rows(void *ctx, int64_t lo, int64_t hi) {
  const Conv3Task *t = (const Conv3Task *)ctx;
  for (int64_t r = lo; r < hi; r++) conv_row(t, r / t->H, r % t->H);
}
#endif

int conv3x3(const float *x, const float *w, float *out, int64_t N, int64_t H, int64_t W, int64_t IC, int64_t OC) {
#ifdef CONV3X3_X86
  if (!conv3x3_supported() || OC % 8 != 0 || N < 1 || H < 1 || W < 1 || IC < 1) return 0;
  const int64_t Wp = W + 2, Hp = H + 2;
  /* 4 pixels of slack after the last row: the last block of a row may read past it */
  const size_t padded = (size_t)(N * Hp * Wp + 4) * IC;
  float *xp = (float *)calloc(padded, sizeof(float));
  if (!xp) return -1;
  for (int64_t n = 0; n < N; n++)
    for (int64_t h = 0; h < H; h++)
      memcpy(xp + ((n * Hp + h + 1) * Wp + 1) * IC, x + ((n * H + h) * W) * IC, (size_t)(W * IC) * sizeof(float));
  Conv3Task t = {xp, w, out, N, H, W, IC, OC};
  parallel_range(N * H, 1, conv_rows, &t);
  free(xp);
  return 1;
#else
  (void)x, (void)w, (void)out, (void)N, (void)H, (void)W, (void)IC, (void)OC;
  return 0;
#endif
}
