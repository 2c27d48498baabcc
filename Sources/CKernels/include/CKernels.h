// Hand-vectorised float kernels that OpenBLAS does not offer: products with a handful of
// rows against a large transposed weight (MoE decode), and the SwiGLU activation.
// Each entry point picks an AVX2+FMA body at run time when the processor has one and a
// portable C body otherwise, so the package needs no compiler flags.
#ifndef MOEKIT_CKERNELS_H
#define MOEKIT_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

// MARK: Kernel choice

/// The vector bodies a processor can run, best last.
enum { MK_LEVEL_PORTABLE = 0, MK_LEVEL_AVX2 = 1, MK_LEVEL_AVX512 = 2, MK_LEVEL_AVX512_VNNI = 3 };

/// The best level this processor supports (`__builtin_cpu_supports`: AVX2 needs `avx2` and
/// `fma`, AVX-512 needs `avx512f` as well, AVX-512 VNNI also `avx512bw`, `avx512vl`,
/// `avx512vnni` and `f16c`).
int mk_best_kernel_level(void);

/// The level the kernels use: the best one, capped by `mk_limit_kernels`.
int mk_kernel_level(void);

/// Caps the level the kernels of the calling thread use (`MK_LEVEL_AVX512_VNNI` lifts the
/// cap), so that tests can run every body the machine has, the portable one included.
void mk_limit_kernels(int level);

/// The calling thread's cap (`MK_LEVEL_AVX512_VNNI` when none).
int mk_kernel_limit(void);

/// Whether the processor reports AVX-512 VNNI and AVX-512 BF16 (for benchmarks to print;
/// no kernel depends on them yet).
int mk_has_avx512_vnni(void);
int mk_has_avx512_bf16(void);

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

// MARK: Compact weights

/// BF16: the upper 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa bits), one
/// `uint16_t` per element, little-endian, rows of `ldw` elements.
///
/// For every row i < m of A (float32) and row j in [jBegin, jEnd) of the BF16 matrix W:
///   C[i·ldc + j] ← Σ_p A[i·lda + p]·W[j·ldw + p] + β·C[i·ldc + j]   (β = 0 overwrites)
/// Each weight row is read once for up to 8 rows of A; meant for decode-sized m.
void mk_bf16_gemm_few_rows(ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd, ptrdiff_t k,
                           const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                           float beta, float *c, ptrdiff_t ldc);

/// out[i] ← BF16 rounding of x[i], to nearest with ties to even (NaN stays a quiet NaN).
void mk_f32_to_bf16(const float *x, uint16_t *out, ptrdiff_t n);

/// out[i] ← the float32 value of BF16 x[i] (exact).
void mk_bf16_to_f32(const uint16_t *x, float *out, ptrdiff_t n);

// MARK: Block-quantized weights

/// Formats of `mk_quantize` (layouts in CompactWeights.c and `WeightMatrix`).
enum { MK_FORMAT_Q8 = 8, MK_FORMAT_Q4 = 4 };

/// Bytes of a `rows × k` matrix in `format`: per row ⌈k/32⌉ blocks of 32 (q8) or 16 (q4)
/// quant bytes and a 2-byte half-float scale.
size_t mk_quantized_bytes(int format, ptrdiff_t rows, ptrdiff_t k);

/// Quantizes `rows × k` floats (row-major) into `out` (`mk_quantized_bytes` bytes): per
/// block of 32, d = max|x| / 127 (q8), or −x_e/8 for the element x_e of largest magnitude
/// (q4, so q spans −8…7), rounded to a half; q = x/d rounded to nearest (ties even) and
/// clamped to ±127 or −8…7. With `importance` (`k` non-negative numbers, one a column), a q4
/// block's scale is instead searched for the smallest squared error weighted by
/// importance·√(σ² + x²) (as ggml's Q4_0 does given an importance matrix); q8 ignores it. A
/// block holding NaN or ±∞ gets a NaN scale, so all its values dequantize to NaN.
void mk_quantize(int format, const float *x, ptrdiff_t rows, ptrdiff_t k, const float *importance, uint8_t *out);

/// Rows [rowBegin, rowEnd) of a quantized `rows × k` matrix as floats (exact), `k` apart.
void mk_dequantize_rows(int format, const uint8_t *w, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t rowBegin,
                        ptrdiff_t rowEnd, float *out);

/// Bytes `mk_quantize_activations` needs for `m` rows of `k`.
size_t mk_activation_bytes(ptrdiff_t m, ptrdiff_t k);

/// Quantizes `m` rows of A (`lda` apart) per block of 32 to int8 (scale max|a|/127, to
/// nearest) into `buffer` (`mk_activation_bytes`), for integer dot products: returns 1,
/// or 0 (writing nothing) where the processor has no AVX-512 VNNI or the level is capped
/// below it.
int mk_quantize_activations(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, void *buffer);

/// C[i·ldc + j] ← Σ_p A[i·lda + p]·W(j, p) for i < m, j in [jBegin, jEnd), W a quantized
/// `rows × k` matrix; each weight block is read once for every 8 rows of A. Given
/// `activations` (A quantized by `mk_quantize_activations`, or NULL) and the AVX-512 VNNI
/// level, it uses integer dot products on them: the result then differs from the exact
/// product by up to half a step of A's blocks times the weights' magnitudes.
void mk_quantized_gemm_few_rows(int format, const void *activations, ptrdiff_t m, ptrdiff_t jBegin,
                                ptrdiff_t jEnd, ptrdiff_t k, const float *a, ptrdiff_t lda, const uint8_t *w,
                                ptrdiff_t rows, float *c, ptrdiff_t ldc);

// MARK: ggml's block layouts

/// Formats kept in ggml's own block structures (ggml-common.h), byte for byte, with ggml's
/// type numbers: Q4_K, Q5_K, Q6_K (super-blocks of 256 elements: 144, 176, 210 bytes) and
/// MXFP4 (blocks of 32: 17 bytes). A row of k elements (k a multiple of the block) is k/256
/// or k/32 blocks; a matrix is its rows one after another.
enum { MK_FORMAT_Q4_K = 12, MK_FORMAT_Q5_K = 13, MK_FORMAT_Q6_K = 14, MK_FORMAT_MXFP4 = 39 };

/// Bytes of a `rows × k` matrix in `format` (k a multiple of the format's block).
size_t mk_blocks_bytes(int format, ptrdiff_t rows, ptrdiff_t k);

/// Quantizes `rows × k` floats (row-major) into `out` (`mk_blocks_bytes`): each sub-block's
/// scale (and minimum) fitted by weighted least squares for the smallest weighted squared
/// error, the weight of column p's error `importance[p]·√(σ² + x²)` when `importance` (k
/// floats, e.g. the mean square of the activations that column meets) is given, else
/// `σ + |x|` (σ² the sub-block's mean square). A block holding NaN or ±∞ dequantizes to NaN
/// (MXFP4, which cannot hold NaN: to +∞).
void mk_blocks_quantize(int format, const float *x, ptrdiff_t rows, ptrdiff_t k, const float *importance,
                        uint8_t *out);

/// Rows [rowBegin, rowEnd) of a `format` matrix of rows of `k` as floats, `k` apart:
/// bit-identical to ggml's dequantization.
void mk_blocks_dequantize_rows(int format, const uint8_t *w, ptrdiff_t k, ptrdiff_t rowBegin,
                               ptrdiff_t rowEnd, float *out);

/// C[i·ldc + j] ← Σ_p A[i·lda + p]·W(j, p) for i < m, j in [jBegin, jEnd), W a `format`
/// matrix with rows of `k`. Given `activations` (A quantized by `mk_quantize_activations`)
/// and the AVX-512 VNNI level, every 64 weights meet A's int8 blocks in integer dot products
/// (the result then differs from the exact product by up to half a step of A's blocks times
/// the weights' magnitudes); otherwise four weight rows at a time are dequantized (1024
/// columns at a time, into the first-level cache) and multiplied by `mk_sgemm_few_rows`.
void mk_blocks_gemm_few_rows(int format, const void *activations, ptrdiff_t m, ptrdiff_t jBegin, ptrdiff_t jEnd,
                             ptrdiff_t k, const float *a, ptrdiff_t lda, const uint8_t *w, float *c,
                             ptrdiff_t ldc);

#endif
