// One table row per block format: ggml's quantizer and MoEKit's on the same rows (argument
// "gaussian": N(0, 1); "cubed": their cubes), each dequantized by its own library, and the
// relative Frobenius error of each. Built by scripts/peer-ggml-quantizers.sh.
#include "CKernels.h"
#include "ggml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long state = 88172645463325252ULL;

/// A uniform number in (0, 1) (xorshift64).
static double uniform(void) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return ((double)(state >> 11) + 0.5) / 9007199254740992.0;
}

static double relative_error(const float *x, const float *y, long n) {
  double e = 0, m = 0;
  for (long i = 0; i < n; i++) e += (double)(y[i] - x[i]) * (y[i] - x[i]), m += (double)x[i] * x[i];
  return sqrt(e / m);
}

int main(int argc, char **argv) {
  const int rows = 256, k = 4096;
  const long n = (long)rows * k;
  int cubed = argc > 1 && strcmp(argv[1], "cubed") == 0;
  float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
  void *q = malloc(sizeof(float) * n);
  for (long i = 0; i < n; i += 2) {  // Box–Muller
    double r = sqrt(-2 * log(uniform())), t = 2 * M_PI * uniform();
    x[i] = (float)(r * cos(t)), x[i + 1] = (float)(r * sin(t));
  }
  if (cubed)
    for (long i = 0; i < n; i++) x[i] = x[i] * x[i] * x[i];
  const enum ggml_type theirs[] = {GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_MXFP4};
  const int ours[] = {MK_FORMAT_Q4_K, MK_FORMAT_Q5_K, MK_FORMAT_Q6_K, MK_FORMAT_MXFP4};
  printf("%s rows (%d × %d)\n| format | ggml error | MoEKit error | MoEKit ÷ ggml |\n|---|--:|--:|--:|\n",
         cubed ? "cubed N(0, 1)" : "N(0, 1)", rows, k);
  for (int t = 0; t < 4; t++) {
    ggml_quantize_chunk(theirs[t], x, q, 0, rows, k, NULL);
    ggml_get_type_traits(theirs[t])->to_float(q, y, n);
    double ggml = relative_error(x, y, n);
    mk_blocks_quantize(ours[t], x, rows, k, NULL, q);
    mk_blocks_dequantize_rows(ours[t], q, k, 0, rows, y);
    double moekit = relative_error(x, y, n);
    printf("| %s | %.5f | %.5f | %.3f |\n", ggml_type_name(theirs[t]), ggml, moekit, moekit / ggml);
  }
  return 0;
}
