#!/usr/bin/env bash
# MoEKit's MoE layer against transformers' on the same weights and inputs: outputs compared
# first (a shape that disagrees is not timed), then both timed in alternating rounds
# (scripts/peer_moe.py says how). Optional: never part of the tests.
#   scripts/peer-compare.sh [--quick] [--threads 1,2] [--rounds 5] [--shapes C1,C3-T1]
#   scripts/peer-compare.sh --whole-model [--layers 4] [--new-tokens 16]   (scripts/peer_model.py)
# Installs torch (by package name with the ordinary pip: the CPU-only build where the
# machine's pip offers it, else the default one), transformers, safetensors and numpy into a
# throw-away virtual environment (MOEKIT_PEER_VENV to reuse one). C3 needs ~20 GB of memory.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/blas-env.sh
bash scripts/bootstrap.sh
venv="${MOEKIT_PEER_VENV:-}"
if [ -z "$venv" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  venv="$work/venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.13.0+cpu" || "$venv/bin/pip" install --quiet torch
  "$venv/bin/pip" install --quiet transformers safetensors numpy
fi
if [ "${1:-}" = "--whole-model" ]; then
  shift
  swift build -c release --product moe-generate
  "$venv/bin/python" scripts/peer_model.py --moe-generate .build/release/moe-generate "$@"
else
  swift build -c release --product moe-run
  "$venv/bin/python" scripts/peer_moe.py --moe-run .build/release/moe-run "$@"
fi
