#!/usr/bin/env bash
# Times Hugging Face's Mixtral block (PyTorch, CPU) on the dense-vs-sparse shapes and prints
# MoEKit's time for the same shapes beside it. Optional: never part of the tests.
#   scripts/peer-compare.sh [THREADS]      (default: every core)
# Installs torch (by package name with the ordinary pip: the CPU-only build where the
# machine's pip offers it, else the default one) and transformers into a throw-away virtual
# environment under a temporary directory, removed on exit. Needs ~13 GB of memory for C3.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-$(nproc)}"
bash scripts/bootstrap.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
pip="$work/venv/bin/pip"
"$pip" install --quiet --upgrade pip
"$pip" install --quiet "torch==2.13.0+cpu" transformers || "$pip" install --quiet torch transformers
swift build -c release --product dense-vs-sparse
.build/release/dense-vs-sparse --config C1,C3 --threads "$threads" --format json > "$work/moekit.json"
"$work/venv/bin/python" scripts/peer_mixtral.py --threads "$threads" --moekit "$work/moekit.json"
