// Weights in ggml's own block layouts, byte for byte the block structures of ggml's
// ggml-common.h: the K-quants Q4_K, Q5_K and Q6_K (super-blocks of 256 elements) and MXFP4
// (blocks of 32). A row is a whole number of blocks; a matrix is its rows one after another.
//
// Dequantization computes every element in float in ggml's order, without fused
// multiply-adds, so that it is bit-identical to the reference. Quantization fits each
// sub-block's scale (and minimum) by weighted least squares over a range of candidate
// grids and keeps the one with the smallest weighted squared error.
#include "CKernels.h"
#include "Vector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

// MARK: Layouts

/// Elements per block of `format`.
static ptrdiff_t mk_block_elements(int format) { return format == MK_FORMAT_MXFP4 ? 32 : 256; }

/// Bytes per block of `format`.
static size_t mk_block_size(int format) {
  switch (format) {
    case MK_FORMAT_Q4_K: return 144;  // d, dmin, 12 bytes of scales and minimums, 128 of nibbles
    case MK_FORMAT_Q5_K: return 176;  // as Q4_K with 32 bytes of fifth bits before the nibbles
    case MK_FORMAT_Q6_K: return 210;  // 128 bytes of low nibbles, 64 of high pairs, 16 scales, d
    default: return 17;               // MXFP4: an E8M0 exponent and 16 bytes of FP4 codes
  }
}

size_t mk_blocks_bytes(int format, ptrdiff_t rows, ptrdiff_t k) {
  return (size_t)rows * (size_t)(k / mk_block_elements(format)) * mk_block_size(format);
}

static inline uint16_t mk_load16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline void mk_store16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

/// Sub-block `j`'s 6-bit scale and minimum from Q4_K's and Q5_K's 12 packed bytes: sub-blocks
/// 0…3 in the low 6 bits of bytes j and j + 4; 4…7 in the nibbles of byte j + 4 with their top
/// two bits in the top bits of bytes j − 4 and j.
static inline void mk_scale_min(const uint8_t *s, int j, int *scale, int *minimum) {
  if (j < 4) {
    *scale = s[j] & 63;
    *minimum = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *minimum = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

/// FP4 (E2M1) codes as twice their value.
static const float mk_fp4_doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/// Half of 2^(e − 127), the E8M0 scale, so that it times `mk_fp4_doubled` is the element.
static inline float mk_e8m0_half(uint8_t e) {
  uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

// MARK: Dequantization

/// The `mk_block_elements(format)` elements of the block at `b`.
static void mk_block_dequantize(int format, const uint8_t *b, float *y) {
  switch (format) {
    case MK_FORMAT_Q4_K:
    case MK_FORMAT_Q5_K: {
      int five = format == MK_FORMAT_Q5_K;
      float d = mk_half_value(mk_load16(b)), dmin = mk_half_value(mk_load16(b + 2));
      const uint8_t *high = b + 16, *low = b + (five ? 48 : 16);
      for (int sub = 0; sub < 8; sub++) {
        int scale, minimum;
        mk_scale_min(b + 4, sub, &scale, &minimum);
        float d1 = d * (float)scale, m1 = dmin * (float)minimum;
        const uint8_t *q = low + (sub / 2) * 32;
        int shift = 4 * (sub % 2);
        for (int l = 0; l < 32; l++) {
          int v = (q[l] >> shift) & 0x0f;
          if (five) v |= ((high[l] >> sub) & 1) << 4;
          y[sub * 32 + l] = d1 * (float)v - m1;
        }
      }
      return;
    }
    case MK_FORMAT_Q6_K: {
      float d = mk_half_value(mk_load16(b + 208));
      const uint8_t *ql = b, *qh = b + 128;
      const int8_t *scales = (const int8_t *)(b + 192);
      for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128;
        int low = (ql[h * 64 + r % 64] >> (4 * (r / 64))) & 0x0f;
        int top = (qh[h * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
        y[e] = (d * (float)scales[e / 16]) * (float)((low | (top << 4)) - 32);
      }
      return;
    }
    default: {
      float d = mk_e8m0_half(b[0]);
      for (int j = 0; j < 16; j++) {
        y[j] = d * mk_fp4_doubled[b[1 + j] & 0x0f];
        y[j + 16] = d * mk_fp4_doubled[b[1 + j] >> 4];
      }
    }
  }
}

void mk_blocks_dequantize_rows(int format, const uint8_t *w, ptrdiff_t k, ptrdiff_t rowBegin,
                               ptrdiff_t rowEnd, float *out) {
  ptrdiff_t per = mk_block_elements(format), blocks = k / per;
  size_t size = mk_block_size(format);
  for (ptrdiff_t r = rowBegin; r < rowEnd; r++)
    for (ptrdiff_t blk = 0; blk < blocks; blk++)
      mk_block_dequantize(format, w + (size_t)(r * blocks + blk) * size, out + (r - rowBegin) * k + blk * per);
}

// MARK: Products in float

/// The float body: four weight rows at a time, 1024 columns at a time, are dequantized into
/// 16 KB that stay in the first-level cache, and multiplied by every row of A with the float
/// few-row kernel.
static void mk_blocks_few_rows_float(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k,
                                     const float *a, ptrdiff_t lda, const uint8_t *w, float *c, ptrdiff_t ldc) {
  enum { GROUP = 4, SPAN = 1024 };
  float rows[GROUP * SPAN];
  ptrdiff_t per = mk_block_elements(format), blocks = k / per;
  size_t size = mk_block_size(format);
  for (ptrdiff_t j = jBegin; j < jEnd; j += GROUP) {
    ptrdiff_t n = jEnd - j < GROUP ? jEnd - j : GROUP;
    for (ptrdiff_t start = 0; start < k; start += SPAN) {
      ptrdiff_t span = k - start < SPAN ? k - start : SPAN;
      for (ptrdiff_t r = 0; r < n; r++)
        for (ptrdiff_t p = 0; p < span; p += per)
          mk_block_dequantize(format, w + (size_t)((j + r) * blocks + (start + p) / per) * size,
                              rows + r * span + p);
      mk_sgemm_few_rows(m, 0, n, span, 1.0f, a + start, lda, rows, span, start == 0 ? 0.0f : 1.0f,
                        c + j, ldc);
    }
  }
}

#if defined(__x86_64__)
// MARK: Products as integer dot products (AVX-512 VNNI)
//
// A's rows come quantized by `mk_quantize_activations` (int8 per block of 32, scale s_a, the
// scales of each pair of blocks spread over 16 lanes). Every 64 weights of a row (a "pair":
// two Q4_K/Q5_K sub-blocks, four Q6_K ones, two MXFP4 blocks) enter `vpdpbusd` as unsigned
// levels u = q + o; the accumulator starts at −o·Σa, so each group of four lanes sums Σ q·a
// exactly. Lanes 0–7 belong to the first 32 weights, 8–15 to the next (for Q6_K each four
// lanes to one sub-block of 16), so one vector of per-lane weight scales times s_a turns the
// integer sums into the product; Q4_K's and Q5_K's minimums subtract dmin·m·Σa the same way.

/// Lanes `4·group … 4·group + 3` of `v` each spread over four lanes (`group` 0…3), or lanes
/// `2·pair`, `2·pair + 1` each over eight (`mk_spread8`).
MK_VNNI MK_INLINE __m512 mk_spread4(__m512 v, int group) {
  __m512i base = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(_mm512_add_epi32(base, _mm512_set1_epi32(4 * group)), v);
}

MK_VNNI MK_INLINE __m512 mk_spread8(__m512 v, int pair) {
  __m512i base = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(_mm512_add_epi32(base, _mm512_set1_epi32(2 * pair)), v);
}

/// A Q4_K or Q5_K super-block's eight sub-block scales d·sc and minimums dmin·m, in lanes 0–7.
MK_VNNI MK_INLINE void mk_scales_q45k(const uint8_t *b, __m512 *scale, __m512 *minimum) {
  float d = _cvtsh_ss(mk_load16(b)), dmin = _cvtsh_ss(mk_load16(b + 2));
  float scales[16] = {0}, minimums[16] = {0};
  for (int sub = 0; sub < 8; sub++) {
    int sc, m;
    mk_scale_min(b + 4, sub, &sc, &m);
    scales[sub] = d * (float)sc, minimums[sub] = dmin * (float)m;
  }
  *scale = _mm512_loadu_ps(scales);
  *minimum = _mm512_loadu_ps(minimums);
}

/// Pair `pair` (0…3) of a Q4_K or Q5_K super-block: its 64 levels.
MK_VNNI MK_INLINE __m512i mk_pair_q45k(int five, const uint8_t *b, int pair) {
  const uint8_t *q = b + (five ? 48 : 16) + 32 * pair;
  _mm_prefetch((const char *)(q + 1024), _MM_HINT_T0);
  __m256i bytes = _mm256_loadu_si256((const __m256i *)q), mask = _mm256_set1_epi8(0x0f);
  __m256i low = _mm256_and_si256(bytes, mask), high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
  if (five) {  // bit 2·pair of byte l is element l's fifth bit, bit 2·pair + 1 element 32 + l's
    __m256i bits = _mm256_loadu_si256((const __m256i *)(b + 16)), one = _mm256_set1_epi8(1);
    __m128i shift = _mm_cvtsi32_si128(2 * pair), next = _mm_cvtsi32_si128(2 * pair + 1);
    low = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(bits, shift), one), 4));
    high = _mm256_or_si256(high, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(bits, next), one), 4));
  }
  return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}

/// A Q6_K super-block's sixteen sub-block scales d·sc, in lanes 0–15.
MK_VNNI MK_INLINE __m512 mk_scales_q6k(const uint8_t *b) {
  __m512i scales = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 192)));
  return _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(mk_load16(b + 208))), _mm512_cvtepi32_ps(scales));
}

/// Pair `pair` (0…3) of a Q6_K super-block: its 64 levels q (0…63, element q − 32).
MK_VNNI MK_INLINE __m512i mk_pair_q6k(const uint8_t *b, int pair) {
  int half = pair / 2, second = pair % 2;  // elements 128·half + 64·second …
  const uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
  _mm_prefetch((const char *)(ql + 1024), _MM_HINT_T0);
  __m512i low = _mm512_loadu_si512((const void *)ql);
  low = _mm512_and_si512(second ? _mm512_srli_epi16(low, 4) : low, _mm512_set1_epi8(0x0f));
  __m256i bits = _mm256_loadu_si256((const __m256i *)qh), three = _mm256_set1_epi8(3);
  __m256i top0 = _mm256_and_si256(_mm256_srl_epi16(bits, _mm_cvtsi32_si128(4 * second)), three);
  __m256i top1 = _mm256_and_si256(_mm256_srl_epi16(bits, _mm_cvtsi32_si128(4 * second + 2)), three);
  __m512i top = _mm512_inserti64x4(_mm512_castsi256_si512(top0), top1, 1);
  return _mm512_or_si512(low, _mm512_slli_epi16(top, 4));
}

/// MXFP4 blocks `2·pair` and `2·pair + 1` of a row of `blocks` (the second missing past the
/// end: zero levels and scale): the 64 levels as FP4 values doubled plus 12, and the lanes'
/// scales.
MK_VNNI MK_INLINE __m512i mk_pair_mxfp4(const uint8_t *row, ptrdiff_t blocks, ptrdiff_t pair, __m512 *scale) {
  const uint8_t *b0 = row + 34 * pair, *b1 = b0 + 17;
  int whole = 2 * pair + 1 < blocks;
  *scale = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(mk_e8m0_half(b0[0]))),
                                               _mm256_castps_pd(_mm256_set1_ps(whole ? mk_e8m0_half(b1[0]) : 0)),
                                               1));
  __m128i c0 = _mm_loadu_si128((const __m128i *)(b0 + 1));
  __m128i c1 = whole ? _mm_loadu_si128((const __m128i *)(b1 + 1)) : _mm_setzero_si128();
  __m256i bytes = _mm256_inserti128_si256(_mm256_castsi128_si256(c0), c1, 1), mask = _mm256_set1_epi8(0x0f);
  __m256i low = _mm256_and_si256(bytes, mask), high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
  // [low 0 | low 1 | high 0 | high 1] → [low 0 | high 0 | low 1 | high 1]: elements in order.
  __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
  __m512i codes = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
  const __m512i table =
      _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
  return _mm512_shuffle_epi8(table, codes);
}

/// `rows` (≤ 4) weight rows from row `j` against `tokens` (≤ 8) quantized rows of A.
MK_VNNI MK_INLINE void mk_blocks_block_vnni(int format, int rows, int tokens, ptrdiff_t k, const int8_t *qa,
                                            const float *sa, const uint8_t *w, ptrdiff_t j, float *c,
                                            ptrdiff_t ldc) {
  ptrdiff_t b = k / 32, pairs = (b + 1) / 2;
  size_t rowBytes = mk_blocks_bytes(format, 1, k), size = mk_block_size(format);
  const int offset = format == MK_FORMAT_Q6_K ? 32 : format == MK_FORMAT_MXFP4 ? 12 : 0;
  const int minimums = format == MK_FORMAT_Q4_K || format == MK_FORMAT_Q5_K;
  __m512 acc[4][8];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm512_setzero_ps();
  __m512 superScale[4], superMinimum[4];
  for (ptrdiff_t pair = 0; pair < pairs; pair++) {
    __m512i u[4];
    __m512 scale[4], minimum[4];
    int within = (int)(pair % 4);
    for (int r = 0; r < rows; r++) {
      const uint8_t *row = w + (size_t)(j + r) * rowBytes, *super = row + (size_t)(pair / 4) * size;
      if (format == MK_FORMAT_Q4_K || format == MK_FORMAT_Q5_K) {
        if (within == 0) mk_scales_q45k(super, &superScale[r], &superMinimum[r]);
        u[r] = mk_pair_q45k(format == MK_FORMAT_Q5_K, super, within);
        scale[r] = mk_spread8(superScale[r], within);
        minimum[r] = mk_spread8(superMinimum[r], within);
      } else if (format == MK_FORMAT_Q6_K) {
        if (within == 0) superScale[r] = mk_scales_q6k(super);
        u[r] = mk_pair_q6k(super, within);
        scale[r] = mk_spread4(superScale[r], within);
      } else {
        u[r] = mk_pair_mxfp4(row, b, pair, &scale[r]);
      }
    }
    for (int t = 0; t < tokens; t++) {
      __m512i x = _mm512_loadu_si512((const void *)(qa + (t * b + 2 * pair) * 32));
      __m512 sx = _mm512_loadu_ps(sa + ((ptrdiff_t)t * pairs + pair) * 16);
      // −o·Σa over each group of four lanes starts every row's sum; Σa·s_a scales the minimums.
      __m512i start = _mm512_setzero_si512();
      if (offset)
        start = _mm512_sub_epi32(start, _mm512_dpbusd_epi32(start, _mm512_set1_epi8((char)offset), x));
      __m512 scaledSum = _mm512_setzero_ps();
      if (minimums)
        scaledSum = _mm512_mul_ps(
            _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), x)), sx);
      for (int r = 0; r < rows; r++) {
        __m512i dot = _mm512_dpbusd_epi32(start, u[r], x);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(scale[r], sx), acc[r][t]);
        if (minimums) acc[r][t] = _mm512_fnmadd_ps(minimum[r], scaledSum, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) c[t * ldc + j + r] = _mm512_reduce_add_ps(acc[r][t]);
}

/// One block of rows with constant sizes and format.
#define MK_BLOCKS_VNNI(FORMAT, ROWS)                                                      \
  switch (m) {                                                                            \
    case 1: mk_blocks_block_vnni(FORMAT, ROWS, 1, k, qa, sa, w, j, c, ldc); break;        \
    case 2: mk_blocks_block_vnni(FORMAT, ROWS, 2, k, qa, sa, w, j, c, ldc); break;        \
    case 3: mk_blocks_block_vnni(FORMAT, ROWS, 3, k, qa, sa, w, j, c, ldc); break;        \
    case 4: mk_blocks_block_vnni(FORMAT, ROWS, 4, k, qa, sa, w, j, c, ldc); break;        \
    case 5: mk_blocks_block_vnni(FORMAT, ROWS, 5, k, qa, sa, w, j, c, ldc); break;        \
    case 6: mk_blocks_block_vnni(FORMAT, ROWS, 6, k, qa, sa, w, j, c, ldc); break;        \
    case 7: mk_blocks_block_vnni(FORMAT, ROWS, 7, k, qa, sa, w, j, c, ldc); break;        \
    default: mk_blocks_block_vnni(FORMAT, ROWS, 8, k, qa, sa, w, j, c, ldc); break;       \
  }

/// Rows `jBegin..<jEnd`: four at a time for one or two tokens (more weight streams in flight),
/// else two, then one.
#define MK_BLOCKS_VNNI_ROWS(FORMAT)                               \
  {                                                               \
    ptrdiff_t j = jBegin;                                         \
    for (; m <= 2 && j + 4 <= jEnd; j += 4) MK_BLOCKS_VNNI(FORMAT, 4) \
    for (; j + 2 <= jEnd; j += 2) MK_BLOCKS_VNNI(FORMAT, 2)       \
    for (; j < jEnd; j++) MK_BLOCKS_VNNI(FORMAT, 1)               \
  }

MK_VNNI static void mk_blocks_few_rows_vnni(int format, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                            ptrdiff_t k, const int8_t *qa, const float *sa, const uint8_t *w,
                                            float *c, ptrdiff_t ldc) {
  switch (format) {
    case MK_FORMAT_Q4_K: MK_BLOCKS_VNNI_ROWS(MK_FORMAT_Q4_K) break;
    case MK_FORMAT_Q5_K: MK_BLOCKS_VNNI_ROWS(MK_FORMAT_Q5_K) break;
    case MK_FORMAT_Q6_K: MK_BLOCKS_VNNI_ROWS(MK_FORMAT_Q6_K) break;
    default: MK_BLOCKS_VNNI_ROWS(MK_FORMAT_MXFP4)
  }
}
#endif

void mk_blocks_gemm_few_rows(int format, const void *activations, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                             ptrdiff_t k, const float *a, ptrdiff_t lda, const uint8_t *w, float *c,
                             ptrdiff_t ldc) {
#if defined(__x86_64__)
  if (activations && mk_kernel_level() >= MK_LEVEL_AVX512_VNNI) {
    ptrdiff_t b = k / 32, pairs = (b + 1) / 2;
    const int8_t *qa = activations;
    const float *sa = (const float *)(qa + (size_t)m * pairs * 64 + 64);
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 8)
      mk_blocks_few_rows_vnni(format, m - t0 < 8 ? m - t0 : 8, jBegin, jEnd, k, qa + t0 * b * 32,
                              sa + t0 * pairs * 16, w, c + t0 * ldc, ldc);
    return;
  }
#else
  (void)activations;
#endif
  mk_blocks_few_rows_float(format, m, jBegin, jEnd, k, a, lda, w, c, ldc);
}

// MARK: Quantization

static inline int mk_clamp(long v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

/// `v` rounded to the nearest integer, ties to even, for |v| < 2²² (larger magnitudes come
/// back clamped by the callers' ranges only approximately, so they are handled first): adding
/// 1.5·2²³ leaves the integer in the low mantissa bits.
static inline long mk_nearest(float v) {
  if (!(fabsf(v) < 0x1p22f)) return v > 0 ? 1L << 22 : -(1L << 22);
  float shifted = v + 12582912.0f;
  int32_t bits;
  memcpy(&bits, &shifted, sizeof bits);
  return (long)((bits & 0x007fffff) - 0x00400000);
}

/// The scale `s ≥ 0` and minimum `*minimum ≥ 0` of `x ≈ s·q − minimum` (q an integer in
/// 0…nmax) with the smallest weighted squared error: for 21 grids spanning the elements'
/// range with nmax − 1 … nmax + 1 steps, the elements are rounded onto the grid and `s` and the
/// minimum solved by weighted least squares for those levels.
static float mk_fit_scale_minimum(int n, int nmax, const float *x, const float *w, float *minimum) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  if (lo > 0) lo = 0;
  *minimum = -lo;
  if (!(hi > lo)) return 0;
  float bestScale = 0, bestError = INFINITY, sxx = 0;
  for (int i = 0; i < n; i++) sxx += w[i] * x[i] * x[i];
  for (int step = -10; step <= 10; step++) {
    float inverse = ((float)nmax + 0.1f * (float)step) / (hi - lo);
    float sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; i++) {
      float q = (float)mk_clamp(mk_nearest(inverse * (x[i] - lo)), 0, nmax);
      sw += w[i], sq += w[i] * q, sqq += w[i] * q * q, sx += w[i] * x[i], sqx += w[i] * q * x[i];
    }
    // x ≈ s·q + offset; with every level equal (det = 0), or a positive offset, offset = 0.
    float det = sw * sqq - sq * sq, s = 0, offset = 0;
    if (det > 0) s = (sw * sqx - sq * sx) / det, offset = (sqq * sx - sq * sqx) / det;
    if (!(det > 0) || offset > 0) offset = 0, s = sqq > 0 ? sqx / sqq : 0;
    if (!(s > 0)) continue;
    // Σ w·(s·q + offset − x)², expanded over the sums above.
    float error = s * s * sqq + 2 * s * offset * sq - 2 * s * sqx + offset * offset * sw - 2 * offset * sx + sxx;
    if (error < bestError) bestError = error, bestScale = s, *minimum = -offset;
  }
  return bestScale;
}

/// The signed scale `s` of `x ≈ s·q` (q an integer in −32…31) with the smallest weighted squared
/// error: the element of largest magnitude is put on 19 grids near level −32 and `s` solved by
/// weighted least squares for the levels each gives.
static float mk_fit_scale_signed(int n, const float *x, const float *w) {
  float extreme = 0;
  for (int i = 0; i < n; i++)
    if (fabsf(x[i]) > fabsf(extreme)) extreme = x[i];
  if (extreme == 0) return 0;
  float bestScale = 0, bestError = INFINITY, sxx = 0;
  for (int i = 0; i < n; i++) sxx += w[i] * x[i] * x[i];
  for (int step = -9; step <= 9; step++) {
    float inverse = -(32.0f + 0.1f * (float)step) / extreme;
    float sqq = 0, sqx = 0;
    for (int i = 0; i < n; i++) {
      float q = (float)mk_clamp(mk_nearest(inverse * x[i]), -32, 31);
      sqq += w[i] * q * q, sqx += w[i] * q * x[i];
    }
    if (!(sqq > 0)) continue;
    float s = sqx / sqq, error = sxx - s * sqx;  // Σ w·(s·q − x)² at the least-squares s
    if (error < bestError) bestError = error, bestScale = s;
  }
  return bestScale;
}

static int mk_all_finite(int n, const float *x) {
  for (int i = 0; i < n; i++)
    if (!(fabsf(x[i]) <= 3.4e38f)) return 0;
  return 1;
}

/// One Q4_K or Q5_K super-block: every sub-block of 32 fitted (`mk_fit_scale_minimum`), the
/// eight scales and minimums put on 6-bit grids of the largest, then every element rounded
/// to the level nearest under its sub-block's stored scale and minimum.
static void mk_quantize_q45k(int five, const float *x, const float *importance, uint8_t *b) {
  memset(b, 0, five ? 176 : 144);
  if (!mk_all_finite(256, x)) {  // the whole block dequantizes to NaN: non-finite input stays visible
    mk_store16(b, 0x7e00u);
    return;
  }
  int nmax = five ? 31 : 15;
  float weights[256], scales[8], minimums[8], largestScale = 0, largestMinimum = 0;
  for (int sub = 0; sub < 8; sub++) {
    mk_error_weights(32, x + 32 * sub, importance ? importance + 32 * sub : NULL, weights + 32 * sub);
    scales[sub] = mk_fit_scale_minimum(32, nmax, x + 32 * sub, weights + 32 * sub, &minimums[sub]);
    largestScale = scales[sub] > largestScale ? scales[sub] : largestScale;
    largestMinimum = minimums[sub] > largestMinimum ? minimums[sub] : largestMinimum;
  }
  uint16_t dBits = mk_half_round(largestScale / 63), minBits = mk_half_round(largestMinimum / 63);
  float d = mk_half_value(dBits), dmin = mk_half_value(minBits);
  mk_store16(b, dBits);
  mk_store16(b + 2, minBits);
  uint8_t *packed = b + 4, *high = b + 16, *low = b + (five ? 48 : 16);
  for (int sub = 0; sub < 8; sub++) {
    int ls = d > 0 ? mk_clamp(mk_nearest(scales[sub] / d), 0, 63) : 0;
    int lm = dmin > 0 ? mk_clamp(mk_nearest(minimums[sub] / dmin), 0, 63) : 0;
    // The 6-bit scale and minimum nearest the fit need not be the best pair on the stored
    // grids: of the nine pairs one step around them, keep the smallest weighted error.
    const float *w = weights + 32 * sub;
    float bestError = INFINITY;
    int bestScale = ls, bestMinimum = lm;
    for (int ds = -1; ds <= 1; ds++) {
      for (int dm = -1; dm <= 1; dm++) {
        int cs = mk_clamp(ls + ds, 0, 63), cm = mk_clamp(lm + dm, 0, 63);
        float step = d * (float)cs, offset = dmin * (float)cm, error = 0;
        for (int l = 0; l < 32; l++) {
          float v = x[32 * sub + l];
          int q = step > 0 ? mk_clamp(mk_nearest((v + offset) / step), 0, nmax) : 0;
          float e = step * (float)q - offset - v;
          error += w[l] * e * e;
        }
        if (error < bestError) bestError = error, bestScale = cs, bestMinimum = cm;
      }
    }
    ls = bestScale, lm = bestMinimum;
    if (sub < 4) {
      packed[sub] |= (uint8_t)ls;
      packed[sub + 4] |= (uint8_t)lm;
    } else {
      packed[sub + 4] = (uint8_t)((ls & 0x0f) | ((lm & 0x0f) << 4));
      packed[sub - 4] |= (uint8_t)((ls >> 4) << 6);
      packed[sub] |= (uint8_t)((lm >> 4) << 6);
    }
    float step = d * (float)ls, offset = dmin * (float)lm;
    for (int l = 0; l < 32; l++) {
      int q = step > 0 ? mk_clamp(mk_nearest((x[32 * sub + l] + offset) / step), 0, nmax) : 0;
      low[(sub / 2) * 32 + l] |= (uint8_t)((q & 0x0f) << (4 * (sub % 2)));
      if (five && q > 15) high[l] |= (uint8_t)(1 << sub);
    }
  }
}

/// One Q6_K super-block: every sub-block of 16 fitted (`mk_fit_scale_signed`), the sixteen
/// scales put on an 8-bit grid of the largest, then every element rounded to the level
/// nearest under its stored scale.
static void mk_quantize_q6k(const float *x, const float *importance, uint8_t *b) {
  memset(b, 0, 210);
  if (!mk_all_finite(256, x)) {
    mk_store16(b + 208, 0x7e00u);
    return;
  }
  float weights[256], scales[16], extreme = 0;
  for (int sub = 0; sub < 16; sub++) {
    mk_error_weights(16, x + 16 * sub, importance ? importance + 16 * sub : NULL, weights + 16 * sub);
    scales[sub] = mk_fit_scale_signed(16, x + 16 * sub, weights + 16 * sub);
    if (fabsf(scales[sub]) > fabsf(extreme)) extreme = scales[sub];
  }
  if (extreme == 0) {
    for (int l = 0; l < 128; l++) b[l] = 0x00;
    for (int l = 0; l < 64; l++) b[128 + l] = 0xaa;  // every q is 32: the element 0
    return;
  }
  float inverse = -128.0f / extreme;
  uint16_t dBits = mk_half_round(fabsf(1.0f / inverse));
  if (inverse < 0) dBits |= 0x8000u;
  float d = mk_half_value(dBits);
  mk_store16(b + 208, dBits);
  for (int sub = 0; sub < 16; sub++) {
    int ls = mk_clamp(mk_nearest(inverse * scales[sub]), -128, 127);
    // Of the 8-bit scales one step around the nearest, keep the smallest weighted error.
    const float *w = weights + 16 * sub;
    float bestError = INFINITY;
    int best = ls;
    for (int c = ls - 1; c <= ls + 1; c++) {
      if (c < -128 || c > 127) continue;
      float step = d * (float)c, error = 0;
      for (int l = 0; l < 16; l++) {
        float v = x[16 * sub + l];
        float e = (step != 0 ? step * (float)mk_clamp(mk_nearest(v / step), -32, 31) : 0) - v;
        error += w[l] * e * e;
      }
      if (error < bestError) bestError = error, best = c;
    }
    ls = best;
    b[192 + sub] = (uint8_t)(int8_t)ls;
    float step = d * (float)ls;
    for (int l = 0; l < 16; l++) {
      int e = 16 * sub + l, h = e / 128, r = e % 128;
      int q = step != 0 ? mk_clamp(mk_nearest(x[e] / step), -32, 31) + 32 : 32;
      b[h * 64 + r % 64] |= (uint8_t)((q & 0x0f) << (4 * (r / 64)));
      b[128 + h * 32 + r % 32] |= (uint8_t)((q >> 4) << (2 * (r / 32)));
    }
  }
}

/// The FP4 code nearest `v` (ties to the smaller magnitude).
static inline int mk_fp4_code(float v) {
  float a = fabsf(v) * 2, best = INFINITY;
  int code = 0;
  for (int c = 0; c < 8; c++) {
    float e = fabsf(a - mk_fp4_doubled[c]);
    if (e < best) best = e, code = c;
  }
  return code == 0 || v > 0 ? code : code | 8;
}

/// One MXFP4 block: the shared exponent that puts the largest magnitude at or just below
/// FP4's largest value 6, or one step smaller (clipping it), whichever gives the smaller
/// weighted squared error, and every element as its nearest FP4 code under it.
static void mk_quantize_mxfp4(const float *x, const float *importance, uint8_t *b) {
  if (!mk_all_finite(32, x)) {  // E8M0 holds no NaN: exponent 255 and code 6 dequantize to +∞
    b[0] = 255;
    memset(b + 1, 0x77, 16);
    return;
  }
  float w[32], largest = 0;
  mk_error_weights(32, x, importance, w);
  for (int i = 0; i < 32; i++) largest = fabsf(x[i]) > largest ? fabsf(x[i]) : largest;
  int top = largest > 0 ? (int)ceilf(log2f(largest / 6)) + 127 : 127;
  int bestE = top < 0 ? 0 : top > 254 ? 254 : top;
  float bestError = INFINITY;
  for (int e = top - 1; e <= top; e++) {
    if (e < 0 || e > 254) continue;
    float scale = 2 * mk_e8m0_half((uint8_t)e), error = 0;
    for (int i = 0; i < 32; i++) {
      float diff = scale * mk_fp4_doubled[mk_fp4_code(x[i] / scale)] / 2 - x[i];
      error += w[i] * diff * diff;
    }
    if (error < bestError) bestError = error, bestE = e;
  }
  b[0] = (uint8_t)bestE;
  float scale = 2 * mk_e8m0_half((uint8_t)bestE);
  for (int j = 0; j < 16; j++)
    b[1 + j] = (uint8_t)(mk_fp4_code(x[j] / scale) | (mk_fp4_code(x[j + 16] / scale) << 4));
}

void mk_blocks_quantize(int format, const float *x, ptrdiff_t rows, ptrdiff_t k, const float *importance,
                        uint8_t *out) {
  ptrdiff_t per = mk_block_elements(format), blocks = k / per;
  size_t size = mk_block_size(format);
  for (ptrdiff_t r = 0; r < rows; r++) {
    for (ptrdiff_t blk = 0; blk < blocks; blk++) {
      const float *v = x + r * k + blk * per, *weights = importance ? importance + blk * per : NULL;
      uint8_t *b = out + (size_t)(r * blocks + blk) * size;
      switch (format) {
        case MK_FORMAT_Q4_K: mk_quantize_q45k(0, v, weights, b); break;
        case MK_FORMAT_Q5_K: mk_quantize_q45k(1, v, weights, b); break;
        case MK_FORMAT_Q6_K: mk_quantize_q6k(v, weights, b); break;
        default: mk_quantize_mxfp4(v, weights, b);
      }
    }
  }
}
