#!/usr/bin/env bash
# Installs what the build and the tests need (scripts/bootstrap.sh, scripts/install-text.sh),
# checks formatting against .swift-format, runs the whole test suite and prints its ten
# slowest tests, then speaks to moe-serve with the openai Python client
# (scripts/openai-client-check.sh) and builds the documentation (scripts/docs.sh), timing each
# phase.
# Extra arguments go to `swift test` (e.g. `scripts/test.sh --filter GEMMTests`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/blas-env.sh
bash scripts/bootstrap.sh
# The text of moe-lm and its tests (Debian's fortunes and Python standard library).
bash scripts/install-text.sh
phase() { echo "test.sh: $1 took $(($(date +%s) - $2)) s" >&2; }
start=$(date +%s)
swift format lint --strict --recursive Package.swift Sources Tests Examples Fuzz
phase lint "$start"
start=$(date +%s)
swift build --build-tests
phase build "$start"
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test --skip-build --disable-xctest "$@" 2>&1 | tee "$log"
phase tests "$start"
# The ten slowest tests (Swift Testing reports each test's time from its own start).
echo "test.sh: the ten slowest tests:" >&2
grep -E '^[^ ]+ Test .* (passed|failed) after [0-9.]+ seconds' "$log" | grep -v ' Test run with ' \
  | sed -E 's/^[^ ]+ Test (.*) (passed|failed) after ([0-9.]+) seconds.*/\3 s  \1/' | sort -rn | head -10 >&2 || true
# The openai Python client against moe-serve, and the DocC catalogs without a warning (only on
# a full run; the client check is skipped where Python or the package index is missing).
if [ $# -eq 0 ]; then
  start=$(date +%s)
  bash scripts/openai-client-check.sh --optional
  phase "openai client" "$start"
  start=$(date +%s)
  bash scripts/docs.sh
  phase docs "$start"
fi
