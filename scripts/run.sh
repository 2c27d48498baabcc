#!/usr/bin/env bash
# Installs what the build needs (scripts/bootstrap.sh), builds in release mode and runs
# MoEKit's main job: for now the GEMM benchmark. Extra arguments go to the job
# (e.g. `scripts/run.sh --quick`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product gemm-bench
"$(swift build -c release --show-bin-path)/gemm-bench" "$@"
