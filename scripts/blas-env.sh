# Sourced by the scripts that build and run MoEKit. OpenBLAS 0.3.21 picks its kernels from
# the processor's model at load time; on virtual CPUs it does not know it falls back to its
# generic Prescott (SSE3) kernels and sgemm runs about 6× slower. Unless the caller chose,
# name the core type the processor's flags allow (BLAS.suggestedCoreType says the same).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
