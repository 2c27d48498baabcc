#!/usr/bin/env bash
# Runs the library test suites (Linalg, MoE, ModelIO, Evaluation, Serving, CostModel, Report: the grouped GEMM
# and the kernels run concurrently there) under AddressSanitizer and ThreadSanitizer, each
# in its own build folder (.build-address, .build-thread). PeakMemoryTests is skipped under
# ASan, whose shadow memory it would measure.
# Usage: scripts/sanitize.sh [address] [thread]   (both by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/blas-env.sh
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(address thread)
suites='^(LinalgTests|MoETests|ModelIOTests|EvaluationTests|ServingTests|CostModelTests|ReportTests)\.'
for kind in "${kinds[@]}"; do
  case "$kind" in address | thread) ;; *) echo "unknown sanitizer '$kind' (address or thread)" >&2; exit 2 ;; esac
  skip=()
  [ "$kind" = address ] && skip=(--skip PeakMemoryTests)
  echo "== $kind sanitizer"
  swift build --build-tests --sanitize="$kind" --build-path ".build-$kind"
  swift test --skip-build --sanitize="$kind" --build-path ".build-$kind" --disable-xctest \
    --filter "$suites" "${skip[@]}"
done
