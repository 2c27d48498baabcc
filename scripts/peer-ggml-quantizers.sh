#!/usr/bin/env bash
# MoEKit's quantizers beside ggml's on the same rows: ggml's reference quantizers (from the
# llama.cpp that scripts/llamacpp.sh builds) and MoEKit's (Sources/CKernels/GGMLBlocks.c,
# compiled into the same program) quantize the same 256 × 4096 N(0, 1) rows, and their cubes
# (heavy tails); each dequantizes with its own code and the relative error ‖W − Ŵ‖/‖W‖ is printed
# side by side. Usage: scripts/peer-ggml-quantizers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/llamacpp.sh
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cc -O2 -I"$llamacpp/ggml/include" -ISources/CKernels/include -ISources/CKernels \
  scripts/peer/ggml-quantizers.c Sources/CKernels/GGMLBlocks.c Sources/CKernels/CKernels.c \
  -L"$llamacpp_bin" -lggml-base -lggml -lm -o "$out/compare"
for rows in gaussian cubed; do
  LD_LIBRARY_PATH="$llamacpp_bin" "$out/compare" "$rows"
done
