#include "CKernels.h"
#include "Vector.h"

#include <math.h>

// MARK: Kernel choice

// Per thread, so that a test capping its kernels never changes what another thread runs;
// Kernels.concurrentPerform hands the cap to the workers it starts.
static _Thread_local int mk_level_limit = MK_LEVEL_AVX512_VNNI;

void mk_limit_kernels(int level) { mk_level_limit = level; }

int mk_kernel_limit(void) { return mk_level_limit; }

int mk_best_kernel_level(void) {
#if defined(__x86_64__)
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return MK_LEVEL_PORTABLE;
  if (!__builtin_cpu_supports("avx512f")) return MK_LEVEL_AVX2;
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
             && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c")
           ? MK_LEVEL_AVX512_VNNI
           : MK_LEVEL_AVX512;
#else
  return MK_LEVEL_PORTABLE;
#endif
}

int mk_kernel_level(void) {
  int best = mk_best_kernel_level();
  return best < mk_level_limit ? best : mk_level_limit;
}

int mk_has_avx512_vnni(void) {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512vnni");
#else
  return 0;
#endif
}

int mk_has_avx512_bf16(void) {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return 0;
#endif
}

// MARK: Portable bodies (any processor; also the tails of the vector loops)

static float mk_sigmoid1(float x) {
  // Never exponentiate a positive number, so neither branch overflows.
  if (x >= 0) return 1 / (1 + expf(-x));
  float e = expf(x);
  return e / (1 + e);
}

static void mk_sgemm_few_rows_portable(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k,
                                       float alpha, const float *a, ptrdiff_t lda, const float *w,
                                       ptrdiff_t ldw, float beta, float *c, ptrdiff_t ldc) {
  for (ptrdiff_t j = jBegin; j < jEnd; j++) {
    for (ptrdiff_t i = 0; i < m; i++) {
      float sum = 0;
      for (ptrdiff_t p = 0; p < k; p++) sum += a[i * lda + p] * w[j * ldw + p];
      float *out = c + i * ldc + j;
      *out = beta == 0 ? alpha * sum : alpha * sum + beta * *out;
    }
  }
}

#if defined(__x86_64__)
#include <immintrin.h>


static int mk_has_avx2(void) { return mk_kernel_level() >= MK_LEVEL_AVX2; }

// MARK: Exponential and sigmoid, 8 lanes

/// e^z for z ≤ 0 (NaN stays NaN; below −104 the result is 0, as e^z < 2^−150 rounds
/// there). Range reduction z = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in a high part exact
/// in 9 bits and a low part), then e^r = 1 + r + r²·P(r) with Cephes' degree-5 minimax P
/// for expf, then the scaling by 2^n done as two factors 2^⌊n/2⌋ and 2^(n − ⌊n/2⌋) so that
/// results in the subnormal range are rounded once, correctly.
MK_AVX2 MK_INLINE __m256 mk_exp_nonpositive(__m256 z) {
  const __m256 lowest = _mm256_set1_ps(-104.0f);
  __m256 underflow = _mm256_cmp_ps(z, lowest, _CMP_LT_OQ);
  z = _mm256_max_ps(lowest, z);  // the second operand is returned for NaN: NaN survives
  __m256 n = _mm256_round_ps(_mm256_mul_ps(z, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), z);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i half = _mm256_srai_epi32(ni, 1);
  __m256i rest = _mm256_sub_epi32(ni, half);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 scale1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  __m256 scale2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, bias), 23));
  __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, scale1), scale2);
  return _mm256_andnot_ps(underflow, result);
}

/// σ(x) = 1/(1 + e^−x) for x ≥ 0 and e^x/(1 + e^x) below, with e = e^−|x| ≤ 1.
MK_AVX2 MK_INLINE __m256 mk_sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  __m256 e = mk_exp_nonpositive(_mm256_sub_ps(_mm256_setzero_ps(), magnitude));
  __m256 denominator = _mm256_add_ps(one, e);
  __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_div_ps(_mm256_blendv_ps(one, e, negative), denominator);
}

MK_AVX2 static void mk_silu_avx2(float *x, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(v, mk_sigmoid8(v)));
  }
  for (; i < n; i++) x[i] = x[i] * mk_sigmoid1(x[i]);
}

MK_AVX2 static void mk_silu_multiply_avx2(float *g, const float *u, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(g + i);
    __m256 silu = _mm256_mul_ps(v, mk_sigmoid8(v));
    _mm256_storeu_ps(g + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
  }
  for (; i < n; i++) g[i] = g[i] * mk_sigmoid1(g[i]) * u[i];
}

MK_AVX2 static float mk_exp_shifted_sum_avx2(float *x, ptrdiff_t n, float shift) {
  __m256 total = _mm256_setzero_ps();
  const __m256 s = _mm256_set1_ps(shift);
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = mk_exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(x + i, e);
    total = _mm256_add_ps(total, e);
  }
  float sum = mk_sum8(total);
  for (; i < n; i++) {
    x[i] = expf(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

MK_AVX2 static void mk_sigmoid_avx2(float *x, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, mk_sigmoid8(_mm256_loadu_ps(x + i)));
  for (; i < n; i++) x[i] = mk_sigmoid1(x[i]);
}

// MARK: Few-row products, 8 lanes


/// `rows` (1, 2 or 4, or 8 for one token) weight rows against `tokens` (1…4) rows of A:
/// 8-lane partial sums in registers, each weight vector loaded once for all the tokens. Four
/// weight rows per block measured 1.2–1.4× two rows for two to four tokens on one core (more
/// independent accumulators, fewer loads of A per weight); for one token, eight rows streamed
/// side by side without software prefetches 1.2× four with them (one core, 16–17 → 20–21 GB/s).
MK_AVX2 MK_INLINE void mk_block(int rows, int tokens, ptrdiff_t k, float alpha, const float *a,
                                ptrdiff_t lda, const float *w, ptrdiff_t ldw, float beta, float *c,
                                ptrdiff_t ldc) {
  __m256 acc[8][4];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < tokens; t++) acc[r][t] = _mm256_setzero_ps();
  ptrdiff_t p = 0;
  for (; p + 8 <= k; p += 8) {
    if (tokens == 1) {
      __m256 x = _mm256_loadu_ps(a + p);
      for (int r = 0; r < rows; r++) acc[r][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + r * ldw + p), x, acc[r][0]);
      continue;
    }
    __m256 wv[4];
    for (int r = 0; r < rows; r++) {
      // 256 bytes ahead: measured 1.1–1.2× the bandwidth of relying on the hardware
      // prefetcher alone for one or two tokens (no gain from further ahead).
      _mm_prefetch((const char *)(w + r * ldw + p + 64), _MM_HINT_T0);
      wv[r] = _mm256_loadu_ps(w + r * ldw + p);
    }
    for (int t = 0; t < tokens; t++) {
      __m256 x = _mm256_loadu_ps(a + t * lda + p);
      for (int r = 0; r < rows; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], x, acc[r][t]);
    }
  }
  for (int r = 0; r < rows; r++) {
    for (int t = 0; t < tokens; t++) {
      float sum = mk_sum8(acc[r][t]);
      for (ptrdiff_t q = p; q < k; q++) sum += w[r * ldw + q] * a[t * lda + q];
      float *out = c + t * ldc + r;
      *out = beta == 0 ? alpha * sum : alpha * sum + beta * *out;
    }
  }
}

#define MK_BLOCK(R, T) mk_block(R, T, k, alpha, a, lda, w, ldw, beta, c, ldc)

MK_AVX2 static void mk_block_dispatch(int rows, int tokens, ptrdiff_t k, float alpha,
                                      const float *a, ptrdiff_t lda, const float *w, ptrdiff_t ldw,
                                      float beta, float *c, ptrdiff_t ldc) {
  switch (rows * 8 + tokens) {
    case 1 * 8 + 1: MK_BLOCK(1, 1); break;
    case 1 * 8 + 2: MK_BLOCK(1, 2); break;
    case 1 * 8 + 3: MK_BLOCK(1, 3); break;
    case 1 * 8 + 4: MK_BLOCK(1, 4); break;
    case 2 * 8 + 1: MK_BLOCK(2, 1); break;
    case 2 * 8 + 2: MK_BLOCK(2, 2); break;
    case 2 * 8 + 3: MK_BLOCK(2, 3); break;
    case 2 * 8 + 4: MK_BLOCK(2, 4); break;
    case 4 * 8 + 1: MK_BLOCK(4, 1); break;
    case 8 * 8 + 1: MK_BLOCK(8, 1); break;
    case 4 * 8 + 2: MK_BLOCK(4, 2); break;
    case 4 * 8 + 3: MK_BLOCK(4, 3); break;
    default: MK_BLOCK(4, 4); break;
  }
}

/// Weight rows in chunks small enough (≤ 256 KiB) to stay in L2 while every group of
/// four tokens passes over them, so each weight is read from memory once.
MK_AVX2 static void mk_sgemm_few_rows_avx2(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                                           ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                                           const float *w, ptrdiff_t ldw, float beta, float *c,
                                           ptrdiff_t ldc) {
  ptrdiff_t chunk = (65536 / (k > 0 ? k : 1)) & ~(ptrdiff_t)3;
  if (chunk < 4) chunk = 4;
  for (ptrdiff_t jc = jBegin; jc < jEnd; jc += chunk) {
    ptrdiff_t chunkEnd = jc + chunk < jEnd ? jc + chunk : jEnd;
    for (ptrdiff_t t0 = 0; t0 < m; t0 += 4) {
      int tokens = (int)(m - t0 < 4 ? m - t0 : 4);
      ptrdiff_t j = jc;
      while (j < chunkEnd) {
        int rows = tokens == 1 && chunkEnd - j >= 8 ? 8 : chunkEnd - j >= 4 ? 4 : chunkEnd - j >= 2 ? 2 : 1;
        mk_block_dispatch(rows, tokens, k, alpha, a + t0 * lda, lda, w + j * ldw, ldw, beta,
                          c + t0 * ldc + j, ldc);
        j += rows;
      }
    }
  }
}
#endif

// MARK: Entry points

void mk_sgemm_few_rows(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k, float alpha,
                       const float *a, ptrdiff_t lda, const float *w, ptrdiff_t ldw, float beta,
                       float *c, ptrdiff_t ldc) {
#if defined(__x86_64__)
  if (mk_has_avx2()) {
    mk_sgemm_few_rows_avx2(m, jBegin, jEnd, k, alpha, a, lda, w, ldw, beta, c, ldc);
    return;
  }
#endif
  mk_sgemm_few_rows_portable(m, jBegin, jEnd, k, alpha, a, lda, w, ldw, beta, c, ldc);
}

void mk_silu(float *x, ptrdiff_t n) {
#if defined(__x86_64__)
  if (mk_has_avx2()) {
    mk_silu_avx2(x, n);
    return;
  }
#endif
  for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] * mk_sigmoid1(x[i]);
}

void mk_silu_multiply(float *g, const float *u, ptrdiff_t n) {
#if defined(__x86_64__)
  if (mk_has_avx2()) {
    mk_silu_multiply_avx2(g, u, n);
    return;
  }
#endif
  for (ptrdiff_t i = 0; i < n; i++) g[i] = g[i] * mk_sigmoid1(g[i]) * u[i];
}

float mk_exp_shifted_sum(float *x, ptrdiff_t n, float shift) {
#if defined(__x86_64__)
  if (mk_has_avx2()) return mk_exp_shifted_sum_avx2(x, n, shift);
#endif
  float sum = 0;
  for (ptrdiff_t i = 0; i < n; i++) {
    x[i] = expf(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

void mk_sigmoid(float *x, ptrdiff_t n) {
#if defined(__x86_64__)
  if (mk_has_avx2()) {
    mk_sigmoid_avx2(x, n);
    return;
  }
#endif
  for (ptrdiff_t i = 0; i < n; i++) x[i] = mk_sigmoid1(x[i]);
}
