#!/usr/bin/env bash
# Installs what the build needs (scripts/bootstrap.sh), builds in release mode and runs
# MoEKit's main job: the cost tables (`cost-tables`). Extra arguments go to it
# (e.g. `scripts/run.sh --format json`, `scripts/run.sh --config path/to/config.json`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/blas-env.sh
bash scripts/bootstrap.sh
swift build -c release --product cost-tables
"$(swift build -c release --show-bin-path)/cost-tables" "$@"
