#!/usr/bin/env bash
# Installs what the build and the tests need (scripts/bootstrap.sh, scripts/install-text.sh),
# checks formatting against
# .swift-format, runs the whole test suite, then builds the documentation (scripts/docs.sh).
# Extra arguments go to `swift test` (e.g. `scripts/test.sh --filter GEMMTests`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/blas-env.sh
bash scripts/bootstrap.sh
# The text of moe-lm and its tests (Debian's fortunes and Python standard library).
bash scripts/install-text.sh
swift format lint --strict --recursive Package.swift Sources Tests Examples Fuzz
swift build --build-tests
swift test --skip-build --disable-xctest "$@"
# The DocC catalogs must build without a warning (only on a full run).
if [ $# -eq 0 ]; then bash scripts/docs.sh; fi
