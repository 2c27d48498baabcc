// The C surface MoEKit uses: OpenBLAS's CBLAS (plus its thread controls) and LAPACKE.
#ifndef MOEKIT_COPENBLAS_SHIM_H
#define MOEKIT_COPENBLAS_SHIM_H

// Without these LAPACKE's complex types import into Swift as opaque pointers.
#define HAVE_LAPACK_CONFIG_H
#define LAPACK_COMPLEX_STRUCTURE

#include <cblas.h>
#include <lapacke.h>

#endif
