// Helpers shared by the vector bodies of CKernels.c and CompactWeights.c (not public).
#ifndef MOEKIT_CKERNELS_VECTOR_H
#define MOEKIT_CKERNELS_VECTOR_H

#if defined(__x86_64__)
#include <immintrin.h>

#define MK_AVX2 __attribute__((target("avx2,fma")))
#define MK_INLINE static inline __attribute__((always_inline))

/// The sum of an 8-lane vector's lanes.
MK_AVX2 MK_INLINE float mk_sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#endif

#endif
