// Products with weights stored in compact formats, and their conversions. Layouts are
// documented in CKernels.h; every entry point has a portable C body and vector bodies
// chosen at run time (mk_kernel_level).
#include "CKernels.h"
#include "Vector.h"

#include <math.h>
#include <stdlib.h>
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

// MARK: AVX2 + FMA: 8 lanes

MK_AVX2 MK_INLINE __m256 mk_bf16x8(const uint16_t *p) {
  __m128i h = _mm_loadu_si128((const __m128i *)p);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/// `rows` BF16 weight rows against `tokens` rows of A; `rows·tokens ≤ 8` accumulators.
MK_AVX2 MK_INLINE void mk_bf16_block_avx2(int rows, int tokens, ptrdiff_t k, const float *a,
                                          ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                                          float beta, float *c, ptrdiff_t ldc) {
  __m256 acc[8][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm256_setzero_ps();
  ptrdiff_t p = 0;
  for (; p + 8 <= k; p += 8) {
    if (tokens <= 2) {  // each row converted once and used at once; no prefetch (as AVX-512)
      __m256 x[2];
      for (int t = 0; t < tokens; t++) x[t] = _mm256_loadu_ps(a + t * lda + p);
      for (int r = 0; r < rows; r++) {
        __m256 wv = mk_bf16x8(w + r * ldw + p);
        for (int t = 0; t < tokens; t++) acc[r][t] = _mm256_fmadd_ps(wv, x[t], acc[r][t]);
      }
    } else {
      __m256 wv[2];
      for (int r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(w + r * ldw + p + 128), _MM_HINT_T0);
        wv[r] = mk_bf16x8(w + r * ldw + p);
      }
      for (int t = 0; t < tokens; t++) {
        __m256 x = _mm256_loadu_ps(a + t * lda + p);
        for (int r = 0; r < rows; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], x, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < rows; r++) {
    for (int t = 0; t < tokens; t++) {
      float sum = mk_sum8(acc[r][t]);
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
  // Every weight row is read once for all m ≤ 8 tokens: 8 rows a block for 1 token, 4 for
  // 2, 2 for ≤ 4, 1 for ≤ 8 (8 accumulators of 16 registers).
  int rows = m == 1 ? 8 : m <= 2 ? 4 : m <= 4 ? 2 : 1;
  ptrdiff_t j = jBegin;
  for (; j + rows <= jEnd; j += rows) {
    const uint16_t *wj = w + j * ldw;
    float *cj = c + j;
    switch (m) {
      case 1: mk_bf16_block_avx2(8, 1, k, a, lda, wj, ldw, beta, cj, ldc); break;
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
/// No software prefetch: eight rows streamed side by side keep the hardware prefetchers busy
/// (measured on one core: 17.5 GB/s for eight rows, 14 for four with prefetches, against a
/// plain read's 22).
MK_AVX512 MK_INLINE void mk_bf16_block_avx512(int rows, int tokens, ptrdiff_t k, const float *a,
                                              ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                                              float beta, float *c, ptrdiff_t ldc) {
  __m512 acc[8][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm512_setzero_ps();
  ptrdiff_t p = 0;
  for (; p + 16 <= k; p += 16) {
    if (tokens <= 2) {  // each row converted once and used at once
      __m512 x[2];
      for (int t = 0; t < tokens; t++) x[t] = _mm512_loadu_ps(a + t * lda + p);
      for (int r = 0; r < rows; r++) {
        __m512 wv = mk_bf16x16(w + r * ldw + p);
        for (int t = 0; t < tokens; t++) acc[r][t] = _mm512_fmadd_ps(wv, x[t], acc[r][t]);
      }
    } else {  // the few rows converted first, each token's activations loaded once
      __m512 wv[4];
      for (int r = 0; r < rows; r++) wv[r] = mk_bf16x16(w + r * ldw + p);
      for (int t = 0; t < tokens; t++) {
        __m512 x = _mm512_loadu_ps(a + t * lda + p);
        for (int r = 0; r < rows; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], x, acc[r][t]);
      }
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
  // 8 weight rows a block for ≤ 2 tokens, 4 for ≤ 4, 2 for ≤ 8 (16 accumulators of 32 registers).
  int rows = m <= 2 ? 8 : m <= 4 ? 4 : 2;
  ptrdiff_t j = jBegin;
  for (; j + rows <= jEnd; j += rows) {
    const uint16_t *wj = w + j * ldw;
    float *cj = c + j;
    switch (m) {
      case 1: mk_bf16_block_avx512(8, 1, k, a, lda, wj, ldw, beta, cj, ldc); break;
      case 2: mk_bf16_block_avx512(8, 2, k, a, lda, wj, ldw, beta, cj, ldc); break;
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

// MARK: Block-quantized weights (8-bit and 4-bit, blocks of 32 along a row)
//
// A row of k elements has b = ⌈k/32⌉ blocks; the matrix stores, for all rows, first the
// quants (row-major, rows of b·32 bytes for q8 and b·16 bytes for q4) and then the
// scales (row-major, rows of b IEEE half floats). Element j of a block with scale d:
//   q8: d · q[j]                         (q an int8 in −127…127)
//   q4: d · (nibble[j] − 8)              (nibble in 0…15; byte i of the block holds
//                                         element i in its low nibble, i + 16 in its high)
// Elements past k in the last block are stored as 0.

size_t mk_quantized_bytes(int format, ptrdiff_t rows, ptrdiff_t k) {
  size_t blocks = (size_t)((k + 31) / 32);
  size_t quant = format == MK_FORMAT_Q8 ? 32 : 16;
  return (size_t)rows * blocks * (quant + 2);
}

static inline ptrdiff_t mk_blocks(ptrdiff_t k) { return (k + 31) / 32; }

/// The q4 level of `v` under the inverse scale `inverse`: `clamp(round(v·inverse), −8, 7)`.
static inline float mk_q4_level(float v, float inverse) {
  long level = lrintf(v * inverse);
  return (float)(level > 7 ? 7 : level < -8 ? -8 : level);
}

/// The weighted squared error `Σ w·(x − d·level(x))²` of a q4 block of `n` values under the
/// scale `d`.
static float mk_q4_error(int n, const float *x, const float *w, float d) {
  float inverse = d != 0 ? 1.0f / d : 0.0f, error = 0;
  for (int j = 0; j < n; j++) {
    float e = x[j] - d * mk_q4_level(x[j], inverse);
    error += w[j] * e * e;
  }
  return error;
}

/// The half-float scale of a q4 block of `n` values that minimises its error weighted by
/// `w`: levels fitted for 19 scales around the extreme's (−(8 + s/10)/x_e, s = −9…9), the
/// least-squares scale of each fit, then that scale rounded to a half and its neighbours
/// one half-float step either way, each with the nearest levels.
static uint16_t mk_q4_weighted_scale(int n, const float *x, const float *w, float extreme) {
  float bestScale = -extreme / 8.0f, bestFit = -1;
  for (int s = -9; s <= 9; s++) {
    float inverse = -(8.0f + 0.1f * (float)s) / extreme, sumXQ = 0, sumQQ = 0;
    for (int j = 0; j < n; j++) {
      float l = mk_q4_level(x[j], inverse);
      sumXQ += w[j] * x[j] * l;
      sumQQ += w[j] * l * l;
    }
    // Σw(x − d·l)² is smallest at d = Σwxl/Σwl², where it falls by (Σwxl)²/Σwl².
    if (sumQQ > 0 && sumXQ * sumXQ / sumQQ > bestFit) bestFit = sumXQ * sumXQ / sumQQ, bestScale = sumXQ / sumQQ;
  }
  // mk_half_round takes magnitudes; the sign is the half's top bit.
  uint16_t h = (uint16_t)(mk_half_round(fabsf(bestScale)) | (bestScale < 0 ? 0x8000u : 0u)), best = h;
  float bestError = mk_q4_error(n, x, w, mk_half_value(h));
  for (int step = -1; step <= 1; step += 2) {
    uint16_t candidate = (uint16_t)(h + step);
    float d = mk_half_value(candidate);
    if ((candidate & 0x7fffu) >= 0x7c00u || (d < 0) != (mk_half_value(h) < 0)) continue;  // ∞, NaN, sign
    float error = mk_q4_error(n, x, w, d);
    if (error < bestError) bestError = error, best = candidate;
  }
  return best;
}

void mk_quantize(int format, const float *x, ptrdiff_t rows, ptrdiff_t k, const float *importance, uint8_t *out) {
  ptrdiff_t b = mk_blocks(k);
  size_t quant = format == MK_FORMAT_Q8 ? 32 : 16;
  uint16_t *scales = (uint16_t *)(out + (size_t)rows * b * quant);
  const float limit = 127.0f;
  for (ptrdiff_t r = 0; r < rows; r++) {
    for (ptrdiff_t blk = 0; blk < b; blk++) {
      float v[32] = {0};
      ptrdiff_t start = blk * 32, n = k - start < 32 ? k - start : 32;
      float largest = 0, extreme = 0;  // the largest magnitude, and that element with its sign
      int finite = 1;
      for (ptrdiff_t j = 0; j < n; j++) {
        v[j] = x[r * k + start + j];
        float a = v[j] < 0 ? -v[j] : v[j];
        if (!(a <= 3.4e38f)) finite = 0;  // NaN or ±∞
        if (a > largest) largest = a, extreme = v[j];
      }
      uint8_t *block = out + (size_t)(r * b + blk) * quant;
      if (!finite) {  // the whole block dequantizes to NaN: non-finite input is never hidden
        scales[r * b + blk] = 0x7e00u;
        memset(block, format == MK_FORMAT_Q8 ? 0 : 0x88, quant);
        continue;
      }
      // q8: d = max|x|/127, q in ±127. q4: d = −x_e/8 for the element x_e of largest
      // magnitude, so that x_e takes the level −8 and q spans all 16 levels −8…7.
      uint16_t h = format == MK_FORMAT_Q8
                       ? mk_half_round(largest / limit)
                       : (uint16_t)(mk_half_round(largest / 8.0f) | (extreme > 0 ? 0x8000u : 0u));
      float w[32];
      // Importance that is zero over the block is none: the extreme's scale stays.
      if (format == MK_FORMAT_Q4 && importance && largest > 0 && mk_error_weights((int)n, v, importance + start, w))
        h = mk_q4_weighted_scale((int)n, v, w, extreme);
      float d = mk_half_value(h);
      scales[r * b + blk] = h;
      float inverse = d != 0 ? 1.0f / d : 0.0f;
      uint8_t *q = out + (size_t)(r * b + blk) * quant;
      if (format == MK_FORMAT_Q8) {
        for (int j = 0; j < 32; j++) {
          float t = v[j] * inverse;
          long n8 = lrintf(t);  // to nearest, ties even
          n8 = n8 > 127 ? 127 : n8 < -127 ? -127 : n8;
          q[j] = (uint8_t)(int8_t)n8;
        }
      } else {
        for (int j = 0; j < 16; j++) {
          long lo = lrintf(v[j] * inverse), hi = lrintf(v[j + 16] * inverse);
          lo = lo > 7 ? 7 : lo < -8 ? -8 : lo;
          hi = hi > 7 ? 7 : hi < -8 ? -8 : hi;
          q[j] = (uint8_t)((lo + 8) | ((hi + 8) << 4));
        }
      }
    }
  }
}

/// Block `blk` of row `r`, dequantized into 32 floats.
static inline void mk_block_values(int format, const uint8_t *w, ptrdiff_t rows, ptrdiff_t b, ptrdiff_t r,
                                   ptrdiff_t blk, float *v) {
  size_t quant = format == MK_FORMAT_Q8 ? 32 : 16;
  const uint16_t *scales = (const uint16_t *)(w + (size_t)rows * b * quant);
  float d = mk_half_value(scales[r * b + blk]);
  const uint8_t *q = w + (size_t)(r * b + blk) * quant;
  if (format == MK_FORMAT_Q8) {
    for (int j = 0; j < 32; j++) v[j] = d * (float)(int8_t)q[j];
  } else {
    for (int j = 0; j < 16; j++) {
      v[j] = d * (float)((int)(q[j] & 0x0f) - 8);
      v[j + 16] = d * (float)((int)(q[j] >> 4) - 8);
    }
  }
}

void mk_dequantize_rows(int format, const uint8_t *w, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t rowBegin,
                        ptrdiff_t rowEnd, float *out) {
  ptrdiff_t b = mk_blocks(k);
  for (ptrdiff_t r = rowBegin; r < rowEnd; r++) {
    for (ptrdiff_t blk = 0; blk < b; blk++) {
      float v[32];
      mk_block_values(format, w, rows, b, r, blk, v);
      ptrdiff_t start = blk * 32, n = k - start < 32 ? k - start : 32;
      memcpy(out + (r - rowBegin) * k + start, v, (size_t)n * sizeof(float));
    }
  }
}

/// Adds block `blk`'s share of the product to `c` for weight rows `jBegin..<jEnd` and the
/// `m` rows of A, in plain C (the portable body, and the vector bodies' partial last block).
static void mk_add_block_product(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k,
                                 ptrdiff_t blk, const float *a, ptrdiff_t lda, const uint8_t *w, ptrdiff_t rows,
                                 float *c, ptrdiff_t ldc) {
  ptrdiff_t b = mk_blocks(k), start = blk * 32, n = k - start < 32 ? k - start : 32;
  for (ptrdiff_t j = jBegin; j < jEnd; j++) {
    float v[32];
    mk_block_values(format, w, rows, b, j, blk, v);
    for (ptrdiff_t i = 0; i < m; i++) {
      float sum = 0;
      for (ptrdiff_t p = 0; p < n; p++) sum += v[p] * a[i * lda + start + p];
      c[i * ldc + j] += sum;
    }
  }
}

static void mk_quantized_few_rows_portable(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                           ptrdiff_t k, const float *a, ptrdiff_t lda, const uint8_t *w,
                                           ptrdiff_t rows, float *c, ptrdiff_t ldc) {
  for (ptrdiff_t j = jBegin; j < jEnd; j++)
    for (ptrdiff_t i = 0; i < m; i++) c[i * ldc + j] = 0;
  for (ptrdiff_t blk = 0; blk < mk_blocks(k); blk++)
    mk_add_block_product(format, m, jBegin, jEnd, k, blk, a, lda, w, rows, c, ldc);
}

#if defined(__x86_64__)
// MARK: AVX2 + FMA + F16C: quantized products in float

#define MK_AVX2Q __attribute__((target("avx2,fma,f16c")))

/// The 32 values of a block as four 8-lane vectors (scale applied).
MK_AVX2Q MK_INLINE void mk_block8x4(int format, const uint8_t *q, float d, __m256 *v) {
  __m256 scale = _mm256_set1_ps(d);
  __m128i lo, hi;
  if (format == MK_FORMAT_Q8) {
    lo = _mm_loadu_si128((const __m128i *)q);
    hi = _mm_loadu_si128((const __m128i *)(q + 16));
  } else {
    __m128i bytes = _mm_loadu_si128((const __m128i *)q), mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    lo = _mm_sub_epi8(_mm_and_si128(bytes, mask), eight);
    hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), eight);
  }
  v[0] = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)));
  v[1] = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))));
  v[2] = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)));
  v[3] = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))));
}

/// `rows` (≤ 2) quantized weight rows against `tokens` (≤ 4) rows of A over whole blocks,
/// two accumulators per row and token.
MK_AVX2Q MK_INLINE void mk_quantized_block_avx2(int format, int rows, int tokens, ptrdiff_t fullBlocks,
                                                const float *a, ptrdiff_t lda, const uint8_t *w,
                                                ptrdiff_t totalRows, ptrdiff_t b, ptrdiff_t j, float *c,
                                                ptrdiff_t ldc) {
  size_t quant = format == MK_FORMAT_Q8 ? 32 : 16;
  const uint16_t *scales = (const uint16_t *)(w + (size_t)totalRows * b * quant);
  __m256 acc[2][4], acc2[2][4];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = acc2[r][t] = _mm256_setzero_ps();
  for (ptrdiff_t blk = 0; blk < fullBlocks; blk++) {
    __m256 v[2][4];
    for (int r = 0; r < rows; r++) {
      const uint8_t *q = w + (size_t)((j + r) * b + blk) * quant;
      _mm_prefetch((const char *)(q + 512), _MM_HINT_T0);
      mk_block8x4(format, q, _cvtsh_ss(scales[(j + r) * b + blk]), v[r]);
    }
    for (int t = 0; t < tokens; t++) {
      const float *x = a + t * lda + blk * 32;
      __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8), x2 = _mm256_loadu_ps(x + 16),
             x3 = _mm256_loadu_ps(x + 24);
      for (int r = 0; r < rows; r++) {
        acc[r][t] = _mm256_fmadd_ps(v[r][0], x0, _mm256_fmadd_ps(v[r][1], x1, acc[r][t]));
        acc2[r][t] = _mm256_fmadd_ps(v[r][2], x2, _mm256_fmadd_ps(v[r][3], x3, acc2[r][t]));
      }
    }
  }
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) c[t * ldc + j + r] = mk_sum8(_mm256_add_ps(acc[r][t], acc2[r][t]));
}

MK_AVX2Q static void mk_quantized_few_rows_avx2(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                                ptrdiff_t k, const float *a, ptrdiff_t lda, const uint8_t *w,
                                                ptrdiff_t rows, float *c, ptrdiff_t ldc) {
  ptrdiff_t b = mk_blocks(k), full = k / 32;
  for (ptrdiff_t t0 = 0; t0 < m; t0 += 4) {
    int tokens = m - t0 < 4 ? (int)(m - t0) : 4;
    const float *at = a + t0 * lda;
    float *ct = c + t0 * ldc;
    ptrdiff_t j = jBegin;
    for (; j + 2 <= jEnd; j += 2) {
      switch (tokens * (format == MK_FORMAT_Q8 ? 1 : -1)) {
        case 1: mk_quantized_block_avx2(MK_FORMAT_Q8, 2, 1, full, at, lda, w, rows, b, j, ct, ldc); break;
        case 2: mk_quantized_block_avx2(MK_FORMAT_Q8, 2, 2, full, at, lda, w, rows, b, j, ct, ldc); break;
        case 3: mk_quantized_block_avx2(MK_FORMAT_Q8, 2, 3, full, at, lda, w, rows, b, j, ct, ldc); break;
        case 4: mk_quantized_block_avx2(MK_FORMAT_Q8, 2, 4, full, at, lda, w, rows, b, j, ct, ldc); break;
        case -1: mk_quantized_block_avx2(MK_FORMAT_Q4, 2, 1, full, at, lda, w, rows, b, j, ct, ldc); break;
        case -2: mk_quantized_block_avx2(MK_FORMAT_Q4, 2, 2, full, at, lda, w, rows, b, j, ct, ldc); break;
        case -3: mk_quantized_block_avx2(MK_FORMAT_Q4, 2, 3, full, at, lda, w, rows, b, j, ct, ldc); break;
        default: mk_quantized_block_avx2(MK_FORMAT_Q4, 2, 4, full, at, lda, w, rows, b, j, ct, ldc); break;
      }
    }
    for (; j < jEnd; j++) mk_quantized_block_avx2(format, 1, tokens, full, at, lda, w, rows, b, j, ct, ldc);
  }
  if (full < b) mk_add_block_product(format, m, jBegin, jEnd, k, full, a, lda, w, rows, c, ldc);
}
#endif

#if defined(__x86_64__)
#define MK_AVX512Q __attribute__((target("avx512f,f16c")))
#define MK_AVX2Q __attribute__((target("avx2,fma,f16c")))

/// The 32 values of a block as two 16-lane vectors (scale applied).
MK_AVX512Q MK_INLINE void mk_block16x2(int format, const uint8_t *q, float d, __m512 *lo, __m512 *hi) {
  __m512 scale = _mm512_set1_ps(d);
  if (format == MK_FORMAT_Q8) {
    __m128i q0 = _mm_loadu_si128((const __m128i *)q), q1 = _mm_loadu_si128((const __m128i *)(q + 16));
    *lo = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)));
    *hi = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)));
  } else {
    __m128i bytes = _mm_loadu_si128((const __m128i *)q);
    __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    __m128i low = _mm_sub_epi8(_mm_and_si128(bytes, mask), eight);
    __m128i high = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), eight);
    *lo = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(low)));
    *hi = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(high)));
  }
}

/// `rows` quantized weight rows against `tokens` rows of A (whole blocks only; the
/// caller handles a final partial block). Each row and token has two accumulators (the
/// block's low and high 16 lanes), so `2·rows·tokens` FMA chains run side by side.
MK_AVX512Q MK_INLINE void mk_quantized_block_avx512(int format, int rows, int tokens, ptrdiff_t fullBlocks,
                                                    const float *a, ptrdiff_t lda, const uint8_t *w,
                                                    ptrdiff_t totalRows, ptrdiff_t b, ptrdiff_t j,
                                                    float *c, ptrdiff_t ldc) {
  size_t quant = format == MK_FORMAT_Q8 ? 32 : 16;
  const uint16_t *scales = (const uint16_t *)(w + (size_t)totalRows * b * quant);
  __m512 acc[4][8], acc2[4][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = acc2[r][t] = _mm512_setzero_ps();
  for (ptrdiff_t blk = 0; blk < fullBlocks; blk++) {
    __m512 lo[4], hi[4];
    for (int r = 0; r < rows; r++) {
      const uint8_t *q = w + (size_t)((j + r) * b + blk) * quant;
      _mm_prefetch((const char *)(q + 8 * quant), _MM_HINT_T0);
      mk_block16x2(format, q, _cvtsh_ss(scales[(j + r) * b + blk]), &lo[r], &hi[r]);
    }
    for (int t = 0; t < tokens; t++) {
      __m512 x0 = _mm512_loadu_ps(a + t * lda + blk * 32), x1 = _mm512_loadu_ps(a + t * lda + blk * 32 + 16);
      for (int r = 0; r < rows; r++) {
        acc[r][t] = _mm512_fmadd_ps(lo[r], x0, acc[r][t]);
        acc2[r][t] = _mm512_fmadd_ps(hi[r], x1, acc2[r][t]);
      }
    }
  }
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++)
      c[t * ldc + j + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][t], acc2[r][t]));
}

/// One block of rows of `mk_quantized_few_rows_avx512` with constant sizes (so the loops
/// over rows and tokens unroll): 4 rows for ≤ 2 tokens, 2 for ≤ 4, 1 for ≤ 8.
#define MK_Q_BLOCK(FORMAT)                                                                              \
  switch (m) {                                                                                          \
    case 1: mk_quantized_block_avx512(FORMAT, 4, 1, full, a, lda, w, rows, b, j, c, ldc); break;        \
    case 2: mk_quantized_block_avx512(FORMAT, 4, 2, full, a, lda, w, rows, b, j, c, ldc); break;        \
    case 3: mk_quantized_block_avx512(FORMAT, 2, 3, full, a, lda, w, rows, b, j, c, ldc); break;        \
    case 4: mk_quantized_block_avx512(FORMAT, 2, 4, full, a, lda, w, rows, b, j, c, ldc); break;        \
    case 5: mk_quantized_block_avx512(FORMAT, 1, 5, full, a, lda, w, rows, b, j, c, ldc); break;        \
    case 6: mk_quantized_block_avx512(FORMAT, 1, 6, full, a, lda, w, rows, b, j, c, ldc); break;        \
    case 7: mk_quantized_block_avx512(FORMAT, 1, 7, full, a, lda, w, rows, b, j, c, ldc); break;        \
    default: mk_quantized_block_avx512(FORMAT, 1, 8, full, a, lda, w, rows, b, j, c, ldc); break;       \
  }

MK_AVX512Q static void mk_quantized_few_rows_avx512(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                                    ptrdiff_t k, const float *a, ptrdiff_t lda,
                                                    const uint8_t *w, ptrdiff_t rows, float *c, ptrdiff_t ldc) {
  ptrdiff_t b = mk_blocks(k), full = k / 32;
  int step = m <= 2 ? 4 : m <= 4 ? 2 : 1;
  ptrdiff_t j = jBegin;
  for (; j + step <= jEnd; j += step) {
    if (format == MK_FORMAT_Q8) {
      MK_Q_BLOCK(MK_FORMAT_Q8)
    } else {
      MK_Q_BLOCK(MK_FORMAT_Q4)
    }
  }
  for (; j < jEnd; j++) {
    if (format == MK_FORMAT_Q8)
      mk_quantized_block_avx512(MK_FORMAT_Q8, 1, (int)m, full, a, lda, w, rows, b, j, c, ldc);
    else
      mk_quantized_block_avx512(MK_FORMAT_Q4, 1, (int)m, full, a, lda, w, rows, b, j, c, ldc);
  }
  if (full < b) mk_add_block_product(format, m, jBegin, jEnd, k, full, a, lda, w, rows, c, ldc);
}
#endif


#if defined(__x86_64__)
// MARK: AVX-512 VNNI: quantized products as integer dot products
//
// The rows of A are quantized per block of 32 like the weights (scale s = max|a|/127,
// int8 values), and each weight block meets them in `vpdpbusd`, which multiplies unsigned
// bytes by signed ones: the weights enter offset to unsigned, u = q + o (o = 128 for q8,
// a flipped sign bit; o = 8 for q4, the stored nibble as it is), and the accumulator
// starts at −o·Σa (once per token and pair of blocks, shared by the rows), so each group
// of four lanes sums Σ u·a − o·Σ a = Σ q·a exactly. 64 products go to 16 int32 lanes
// (lanes 0–7 one block, 8–15 the next), converted to float and scaled by d_w·s_a.
// Quantizing A adds about half a step of error per element of A (≈ 0.4 % of a block's
// largest value).

/// `m` rows of A as int8 blocks (`qa`, m × b·32) with each pair of blocks' scales spread
/// over 16 lanes (`sa`, m × ⌈b/2⌉ × 16 floats: 8 lanes of the even block, 8 of the odd).
static void mk_quantize_rows_for_vnni(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, ptrdiff_t b,
                                      int8_t *qa, float *sa) {
  ptrdiff_t pairs = (b + 1) / 2;
  for (ptrdiff_t t = 0; t < m; t++) {
    for (ptrdiff_t blk = 0; blk < 2 * pairs; blk++) {
      float v[32] = {0}, largest = 0;
      ptrdiff_t start = blk * 32, n = blk < b ? (k - start < 32 ? k - start : 32) : 0;
      for (ptrdiff_t j = 0; j < n; j++) {
        v[j] = a[t * lda + start + j];
        float x = v[j] < 0 ? -v[j] : v[j];
        if (x > largest) largest = x;
      }
      float s = largest / 127.0f, inverse = largest > 0 ? 127.0f / largest : 0.0f;
      if (blk < b)
        for (int j = 0; j < 32; j++) qa[t * b * 32 + start + j] = (int8_t)lrintf(v[j] * inverse);
      for (int l = 0; l < 8; l++) sa[(t * pairs + blk / 2) * 16 + (blk % 2) * 8 + l] = s;
    }
  }
}

/// A pair of blocks (64 weights; past the row's last block, whatever offset weights give
/// nothing, as that block's scale is zero) of weight row `r` as unsigned bytes `q + o` in
/// element order (o = 128 for q8, 8 for q4).
MK_VNNI MK_INLINE __m512i mk_pair_uint8(int format, const uint8_t *w, ptrdiff_t b, ptrdiff_t r, ptrdiff_t pair) {
  int whole = 2 * pair + 1 < b;
  if (format == MK_FORMAT_Q8) {
    const uint8_t *q = w + ((size_t)r * b + 2 * pair) * 32;
    _mm_prefetch((const char *)(q + 512), _MM_HINT_T0);
    __m512i v = whole ? _mm512_loadu_si512((const void *)q)
                      : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)q));
    return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
  }
  const uint8_t *q = w + ((size_t)r * b + 2 * pair) * 16;
  _mm_prefetch((const char *)(q + 512), _MM_HINT_T0);
  __m256i bytes = whole ? _mm256_loadu_si256((const __m256i *)q)
                        : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)q));
  __m256i mask = _mm256_set1_epi8(0x0f);
  __m256i low = _mm256_and_si256(bytes, mask), high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
  // [low A | low B | high A | high B] → [low A | high A | low B | high B].
  __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
  return _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
}

/// `rows` (≤ 4) quantized weight rows against `tokens` quantized rows of A, over `pairs`
/// pairs of blocks (a missing last block gets a zero scale, so it adds nothing).
MK_VNNI MK_INLINE void mk_quantized_block_vnni(int format, int rows, int tokens, ptrdiff_t pairs, ptrdiff_t b,
                                               const int8_t *qa, const float *sa, const uint8_t *w,
                                               const uint16_t *scales, ptrdiff_t j, float *c, ptrdiff_t ldc) {
  __m512 acc[4][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm512_setzero_ps();
  const __m512i offset = _mm512_set1_epi8(format == MK_FORMAT_Q8 ? (char)0x80 : 8);
  for (ptrdiff_t pair = 0; pair < pairs; pair++) {
    __m512i wu[4];
    __m512 dw[4];
    for (int r = 0; r < rows; r++) {
      wu[r] = mk_pair_uint8(format, w, b, j + r, pair);
      float d0 = _cvtsh_ss(scales[(j + r) * b + 2 * pair]);
      float d1 = 2 * pair + 1 < b ? _cvtsh_ss(scales[(j + r) * b + 2 * pair + 1]) : 0.0f;
      dw[r] = _mm512_castpd_ps(
          _mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(d0)), _mm256_castps_pd(_mm256_set1_ps(d1)), 1));
    }
    for (int t = 0; t < tokens; t++) {
      __m512i x = _mm512_loadu_si512((const void *)(qa + (t * b + 2 * pair) * 32));
      __m512 sx = _mm512_loadu_ps(sa + ((ptrdiff_t)t * pairs + pair) * 16);
      // −o·Σa over each group of four, the start of every row's sum.
      __m512i start =
          _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, x));
      for (int r = 0; r < rows; r++) {
        __m512i dot = _mm512_dpbusd_epi32(start, wu[r], x);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[r], sx), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) c[t * ldc + j + r] = _mm512_reduce_add_ps(acc[r][t]);
}

/// One block of rows with constant sizes: 4 rows for ≤ 2 tokens, 2 for more.
#define MK_VNNI_BLOCK(FORMAT, ROWS)                                                                  \
  switch (m) {                                                                                       \
    case 1: mk_quantized_block_vnni(FORMAT, ROWS, 1, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    case 2: mk_quantized_block_vnni(FORMAT, ROWS, 2, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    case 3: mk_quantized_block_vnni(FORMAT, ROWS, 3, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    case 4: mk_quantized_block_vnni(FORMAT, ROWS, 4, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    case 5: mk_quantized_block_vnni(FORMAT, ROWS, 5, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    case 6: mk_quantized_block_vnni(FORMAT, ROWS, 6, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    case 7: mk_quantized_block_vnni(FORMAT, ROWS, 7, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
    default: mk_quantized_block_vnni(FORMAT, ROWS, 8, pairs, b, qa, sa, w, scales, j, c, ldc); break; \
  }

MK_VNNI static void mk_quantized_few_rows_vnni(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                               ptrdiff_t k, const int8_t *qa, const float *sa, const uint8_t *w,
                                               ptrdiff_t rows, float *c, ptrdiff_t ldc) {
  ptrdiff_t b = mk_blocks(k), pairs = (b + 1) / 2;
  const uint16_t *scales = (const uint16_t *)(w + (size_t)rows * b * (format == MK_FORMAT_Q8 ? 32 : 16));
  ptrdiff_t j = jBegin;
  // Four rows at a time for one or two tokens keeps more weight streams in flight.
  for (; m <= 2 && j + 4 <= jEnd; j += 4) {
    if (format == MK_FORMAT_Q8) {
      MK_VNNI_BLOCK(MK_FORMAT_Q8, 4)
    } else {
      MK_VNNI_BLOCK(MK_FORMAT_Q4, 4)
    }
  }
  for (; j + 2 <= jEnd; j += 2) {
    if (format == MK_FORMAT_Q8) {
      MK_VNNI_BLOCK(MK_FORMAT_Q8, 2)
    } else {
      MK_VNNI_BLOCK(MK_FORMAT_Q4, 2)
    }
  }
  for (; j < jEnd; j++) {
    if (format == MK_FORMAT_Q8) {
      MK_VNNI_BLOCK(MK_FORMAT_Q8, 1)
    } else {
      MK_VNNI_BLOCK(MK_FORMAT_Q4, 1)
    }
  }
}
#endif

size_t mk_activation_bytes(ptrdiff_t m, ptrdiff_t k) {
  ptrdiff_t pairs = (mk_blocks(k) + 1) / 2;
  return (size_t)m * pairs * 64 + 64 + (size_t)m * pairs * 16 * sizeof(float);
}

int mk_quantize_activations(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, void *buffer) {
#if defined(__x86_64__)
  if (mk_kernel_level() < MK_LEVEL_AVX512_VNNI) return 0;
  ptrdiff_t b = mk_blocks(k), pairs = (b + 1) / 2;
  int8_t *qa = buffer;
  memset(qa, 0, (size_t)m * pairs * 64 + 64);
  mk_quantize_rows_for_vnni(a, lda, m, k, b, qa, (float *)(qa + (size_t)m * pairs * 64 + 64));
  return 1;
#else
  (void)a, (void)lda, (void)m, (void)k, (void)buffer;
  return 0;
#endif
}

void mk_quantized_gemm_few_rows(int format, const void *activations, ptrdiff_t m, ptrdiff_t jBegin,
                                ptrdiff_t jEnd, ptrdiff_t k, const float *a, ptrdiff_t lda, const uint8_t *w,
                                ptrdiff_t rows, float *c, ptrdiff_t ldc) {
#if defined(__x86_64__)
  if (activations && mk_kernel_level() >= MK_LEVEL_AVX512_VNNI) {
    ptrdiff_t b = mk_blocks(k), pairs = (b + 1) / 2;
    const int8_t *qa = activations;
    const float *sa = (const float *)(qa + (size_t)m * pairs * 64 + 64);
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8)
      mk_quantized_few_rows_vnni(format, m - t0 < 8 ? m - t0 : 8, jBegin, jEnd, k, qa + t0 * b * 32,
                                 sa + t0 * pairs * 16, w, rows, c + t0 * ldc, ldc);
    return;
  }
  if (mk_kernel_level() >= MK_LEVEL_AVX512 && __builtin_cpu_supports("f16c")) {
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8)
      mk_quantized_few_rows_avx512(format, m - t0 < 8 ? m - t0 : 8, jBegin, jEnd, k, a + t0 * lda, lda, w, rows,
                                   c + t0 * ldc, ldc);
    return;
  }
  if (mk_kernel_level() >= MK_LEVEL_AVX2 && __builtin_cpu_supports("f16c")) {
    mk_quantized_few_rows_avx2(format, m, jBegin, jEnd, k, a, lda, w, rows, c, ldc);
    return;
  }
#endif
  mk_quantized_few_rows_portable(format, m, jBegin, jEnd, k, a, lda, w, rows, c, ldc);
}
