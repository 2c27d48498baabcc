// Products with weights stored in compact formats, and their conversions. Layouts are
// documented in CKernels.h; every entry point has a portable C body and vector bodies
// chosen at run time (mk_kernel_level).
#include "CKernels.h"

#include <string.h>

// MARK: BF16 scalars

/// The float whose upper 16 bits are `h` (exact: BF16 is float32's top half).
static inline float mk_bf16_value(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/// `f` rounded to the nearest BF16, ties to even; NaN stays NaN (quiet), ±∞ stays.
static inline uint16_t mk_bf16_round(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return (uint16_t)((bits + rounding) >> 16);
}

void mk_f32_to_bf16(const float *x, uint16_t *out, ptrdiff_t n) {
  for (ptrdiff_t i = 0; i < n; i++) out[i] = mk_bf16_round(x[i]);
}

static void mk_bf16_to_f32_portable(const uint16_t *x, float *out, ptrdiff_t n) {
  for (ptrdiff_t i = 0; i < n; i++) out[i] = mk_bf16_value(x[i]);
}

// MARK: Portable product

static void mk_bf16_few_rows_portable(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k,
                                      const float *a, ptrdiff_t lda, const uint16_t *w,
                                      ptrdiff_t ldw, float beta, float *c, ptrdiff_t ldc) {
  for (ptrdiff_t j = jBegin; j < jEnd; j++) {
    for (ptrdiff_t i = 0; i < m; i++) {
      float sum = 0;
      for (ptrdiff_t p = 0; p < k; p++) sum += a[i * lda + p] * mk_bf16_value(w[j * ldw + p]);
      float *out = c + i * ldc + j;
      *out = beta == 0 ? sum : sum + beta * *out;
    }
  }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define MK_INLINE static inline __attribute__((always_inline))

// MARK: AVX2 + FMA: 8 lanes

#define MK_AVX2 __attribute__((target("avx2,fma")))

MK_AVX2 MK_INLINE __m256 mk_bf16x8(const uint16_t *p) {
  __m128i h = _mm_loadu_si128((const __m128i *)p);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

MK_AVX2 MK_INLINE float mk_sum8_bf16(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// `rows` BF16 weight rows against `tokens` rows of A; `rows·tokens ≤ 8` accumulators.
MK_AVX2 MK_INLINE void mk_bf16_block_avx2(int rows, int tokens, ptrdiff_t k, const float *a,
                                          ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                                          float beta, float *c, ptrdiff_t ldc) {
  __m256 acc[4][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm256_setzero_ps();
  ptrdiff_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 wv[4];
    for (int r = 0; r < rows; r++) {
      _mm_prefetch((const char *)(w + r * ldw + p + 128), _MM_HINT_T0);
      wv[r] = mk_bf16x8(w + r * ldw + p);
    }
    for (int t = 0; t < tokens; t++) {
      __m256 x = _mm256_loadu_ps(a + t * lda + p);
      for (int r = 0; r < rows; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], x, acc[r][t]);
    }
  }
  for (int r = 0; r < rows; r++) {
    for (int t = 0; t < tokens; t++) {
      float sum = mk_sum8_bf16(acc[r][t]);
      for (ptrdiff_t q = p; q < k; q++) sum += mk_bf16_value(w[r * ldw + q]) * a[t * lda + q];
      float *out = c + t * ldc + r;
      *out = beta == 0 ? sum : sum + beta * *out;
    }
  }
}

MK_AVX2 static void mk_bf16_few_rows_avx2(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                          ptrdiff_t k, const float *a, ptrdiff_t lda,
                                          const uint16_t *w, ptrdiff_t ldw, float beta, float *c,
                                          ptrdiff_t ldc) {
  // Every weight row is read once for all m ≤ 8 tokens: 4 rows a block for ≤ 2 tokens,
  // 2 for ≤ 4, 1 for ≤ 8 (8 accumulators of 16 registers).
  int rows = m <= 2 ? 4 : m <= 4 ? 2 : 1;
  ptrdiff_t j = jBegin;
  for (; j + rows <= jEnd; j += rows) {
    const uint16_t *wj = w + j * ldw;
    float *cj = c + j;
    switch (m) {
      case 1: mk_bf16_block_avx2(4, 1, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 2: mk_bf16_block_avx2(4, 2, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 3: mk_bf16_block_avx2(2, 3, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 4: mk_bf16_block_avx2(2, 4, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 5: mk_bf16_block_avx2(1, 5, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 6: mk_bf16_block_avx2(1, 6, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 7: mk_bf16_block_avx2(1, 7, k, a, lda, wj, ldw, beta, cj, ldc); break;
      default: mk_bf16_block_avx2(1, 8, k, a, lda, wj, ldw, beta, cj, ldc); break;
    }
  }
  for (; j < jEnd; j++) {
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8) {
      int tokens = m - t0 < 8 ? (int)(m - t0) : 8;
      mk_bf16_block_avx2(1, tokens, k, a + t0 * lda, lda, w + j * ldw, ldw, beta, c + t0 * ldc + j,
                         ldc);
    }
  }
}

MK_AVX2 static void mk_bf16_to_f32_avx2(const uint16_t *x, float *out, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, mk_bf16x8(x + i));
  mk_bf16_to_f32_portable(x + i, out + i, n - i);
}

// MARK: AVX-512F: 16 lanes

#define MK_AVX512 __attribute__((target("avx512f")))

MK_AVX512 MK_INLINE __m512 mk_bf16x16(const uint16_t *p) {
  __m256i h = _mm256_loadu_si256((const __m256i *)p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

MK_AVX512 static void mk_bf16_to_f32_avx512(const uint16_t *x, float *out, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, mk_bf16x16(x + i));
  mk_bf16_to_f32_portable(x + i, out + i, n - i);
}

/// `rows` BF16 weight rows against `tokens` rows of A; `rows·tokens ≤ 16` accumulators.
MK_AVX512 MK_INLINE void mk_bf16_block_avx512(int rows, int tokens, ptrdiff_t k, const float *a,
                                              ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                                              float beta, float *c, ptrdiff_t ldc) {
  __m512 acc[4][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm512_setzero_ps();
  ptrdiff_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 wv[4];
    for (int r = 0; r < rows; r++) {
      _mm_prefetch((const char *)(w + r * ldw + p + 256), _MM_HINT_T0);
      wv[r] = mk_bf16x16(w + r * ldw + p);
    }
    for (int t = 0; t < tokens; t++) {
      __m512 x = _mm512_loadu_ps(a + t * lda + p);
      for (int r = 0; r < rows; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], x, acc[r][t]);
    }
  }
  for (int r = 0; r < rows; r++) {
    for (int t = 0; t < tokens; t++) {
      float sum = _mm512_reduce_add_ps(acc[r][t]);
      for (ptrdiff_t q = p; q < k; q++) sum += mk_bf16_value(w[r * ldw + q]) * a[t * lda + q];
      float *out = c + t * ldc + r;
      *out = beta == 0 ? sum : sum + beta * *out;
    }
  }
}

MK_AVX512 static void mk_bf16_few_rows_avx512(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                              ptrdiff_t k, const float *a, ptrdiff_t lda,
                                              const uint16_t *w, ptrdiff_t ldw, float beta,
                                              float *c, ptrdiff_t ldc) {
  // 4 weight rows a block for ≤ 4 tokens, 2 for ≤ 8 (16 accumulators of 32 registers).
  int rows = m <= 4 ? 4 : 2;
  ptrdiff_t j = jBegin;
  for (; j + rows <= jEnd; j += rows) {
    const uint16_t *wj = w + j * ldw;
    float *cj = c + j;
    switch (m) {
      case 1: mk_bf16_block_avx512(4, 1, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 2: mk_bf16_block_avx512(4, 2, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 3: mk_bf16_block_avx512(4, 3, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 4: mk_bf16_block_avx512(4, 4, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 5: mk_bf16_block_avx512(2, 5, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 6: mk_bf16_block_avx512(2, 6, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 7: mk_bf16_block_avx512(2, 7, k, a, lda, wj, ldw, beta, cj, ldc); break;
      default: mk_bf16_block_avx512(2, 8, k, a, lda, wj, ldw, beta, cj, ldc); break;
    }
  }
  for (; j < jEnd; j++) {
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8) {
      int tokens = m - t0 < 8 ? (int)(m - t0) : 8;
      mk_bf16_block_avx512(1, tokens, k, a + t0 * lda, lda, w + j * ldw, ldw, beta,
                           c + t0 * ldc + j, ldc);
    }
  }
}
#endif

// MARK: Entry points

void mk_bf16_to_f32(const uint16_t *x, float *out, ptrdiff_t n) {
#if defined(__x86_64__)
  int level = mk_kernel_level();
  if (level >= MK_LEVEL_AVX512) {
    mk_bf16_to_f32_avx512(x, out, n);
    return;
  }
  if (level >= MK_LEVEL_AVX2) {
    mk_bf16_to_f32_avx2(x, out, n);
    return;
  }
#endif
  mk_bf16_to_f32_portable(x, out, n);
}

void mk_bf16_gemm_few_rows(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k,
                           const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                           float beta, float *c, ptrdiff_t ldc) {
#if defined(__x86_64__)
  int level = mk_kernel_level();
  if (level >= MK_LEVEL_AVX512) {
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8)
      mk_bf16_few_rows_avx512(m - t0 < 8 ? m - t0 : 8, jBegin, jEnd, k, a + t0 * lda, lda, w, ldw,
                              beta, c + t0 * ldc, ldc);
    return;
  }
  if (level >= MK_LEVEL_AVX2) {
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8)
      mk_bf16_few_rows_avx2(m - t0 < 8 ? m - t0 : 8, jBegin, jEnd, k, a + t0 * lda, lda, w, ldw,
                            beta, c + t0 * ldc, ldc);
    return;
  }
#endif
  mk_bf16_few_rows_portable(m, jBegin, jEnd, k, a, lda, w, ldw, beta, c, ldc);
}
