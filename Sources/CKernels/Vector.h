// Helpers shared by the kernels of CKernels.c, CompactWeights.c and GGMLBlocks.c (not public).
#ifndef MOEKIT_CKERNELS_VECTOR_H
#define MOEKIT_CKERNELS_VECTOR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/// The float value of an IEEE half (exact).
static inline float mk_half_value(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int shift = 0;
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      shift++;
    }
    bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/// `f` (finite, non-negative, at most 65504) rounded to the nearest IEEE half, ties even.
static inline uint16_t mk_half_round(float f) {
  if (f >= 65520.0f) return 0x7c00u;
  if (f < 0x1p-25f) return 0;
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  int exponent = (int)((bits >> 23) & 0xffu) - 127;
  uint32_t mantissa = (bits & 0x7fffffu) | 0x800000u;
  int shift = exponent >= -14 ? 13 : 13 + (-14 - exponent);  // subnormal halves lose more bits
  uint32_t rounded = mantissa >> shift;
  uint32_t rest = mantissa & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (rounded & 1u))) rounded++;
  if (exponent >= -14) return (uint16_t)(((uint32_t)(exponent + 15) << 10) + rounded - 0x400u);
  return (uint16_t)rounded;  // a carry into 0x400 gives the smallest normal, as it should
}

#if defined(__x86_64__)
#include <immintrin.h>

#define MK_AVX2 __attribute__((target("avx2,fma")))
#define MK_INLINE static inline __attribute__((always_inline))
#define MK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c")))

/// The sum of an 8-lane vector's lanes.
MK_AVX2 MK_INLINE float mk_sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#endif

/// The weights of `n` elements' squared errors: `importance[i]·√(σ² + x[i]²)` given per-column
/// importance (σ² the mean square of the elements), else `√(σ²) + |x[i]|`, which favours the
/// large elements that dominate a product. Weights that are all zero (a column set that no
/// calibration token reached) fall back to the unweighted rule. Returns whether importance
/// weighted them.
static inline int mk_error_weights(int n, const float *x, const float *importance, float *w) {
  float meanSquare = 0;
  for (int i = 0; i < n; i++) meanSquare += x[i] * x[i];
  meanSquare /= (float)n;
  float total = 0;
  if (importance) {
    for (int i = 0; i < n; i++) total += w[i] = importance[i] * sqrtf(meanSquare + x[i] * x[i]);
  }
  if (total > 0) return 1;
  float rms = sqrtf(meanSquare);
  for (int i = 0; i < n; i++) w[i] = rms + fabsf(x[i]) + 1e-30f;
  return 0;
}

#endif
