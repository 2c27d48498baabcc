#!/usr/bin/env bash
# Makes a throw-away virtual environment with CPU-only PyTorch, transformers, safetensors
# and tokenizers (by package name, from the machine's ordinary pip), then writes the
# whole-model and tokenizer fixtures (scripts/make-model-fixtures.py). Arguments name the
# families to rewrite (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MOEKIT_FIXTURE_VENV:-/tmp/moekit-fixtures-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.13.0+cpu" transformers safetensors tokenizers numpy
fi
"$venv/bin/python" scripts/make-model-fixtures.py "$@"
