// Hand-vectorised float kernels that OpenBLAS does not offer: products with a handful of
// rows against a large transposed weight (MoE decode), and the SwiGLU activation.
// Each entry point picks an AVX2+FMA body at run time when the processor has one and a
// portable C body otherwise, so the package needs no compiler flags.
#ifndef MOEKIT_CKERNELS_H
#define MOEKIT_CKERNELS_H

#include <stddef.h>

/// For every row i < m of A and every row j in [jBegin, jEnd) of W:
///   C[i·ldc + j] ← α·Σ_p A[i·lda + p]·W[j·ldw + p] + β·C[i·ldc + j]
/// (C = α·A·Wᵀ + β·C restricted to columns jBegin..<jEnd). β = 0 overwrites C.
/// Each weight row is read from memory once for all m rows of A, which is what makes a
/// decode step with a few tokens run at memory bandwidth; intended for m ≤ 8.
void mk_sgemm_few_rows(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k, float alpha,
                       const float *a, ptrdiff_t lda, const float *w, ptrdiff_t ldw, float beta,
                       float *c, ptrdiff_t ldc);

/// x[i] ← x[i]·σ(x[i]) for i < n (SiLU), to within 4 ulp of the exact value for normal
/// results; NaN stays NaN.
void mk_silu(float *x, ptrdiff_t n);

/// g[i] ← g[i]·σ(g[i])·u[i] for i < n: the gated SwiGLU hidden layer in one pass.
void mk_silu_multiply(float *g, const float *u, ptrdiff_t n);

/// x[i] ← σ(x[i]) = 1/(1 + e^(−x[i])) for i < n.
void mk_sigmoid(float *x, ptrdiff_t n);

/// x[i] ← e^(x[i] − shift) for i < n, returning Σ x[i]: the numerator and denominator of
/// a softmax whose row maximum is `shift` (so every exponent is ≤ 0; −∞ gives 0).
float mk_exp_shifted_sum(float *x, ptrdiff_t n, float shift);

#endif
