#!/usr/bin/env bash
# Writes the GGUF fixtures (scripts/make-gguf-fixtures.py) in the throw-away environment that
# scripts/make-model-fixtures.sh makes, with the `gguf` package added (by package name).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MOEKIT_FIXTURE_VENV:-/tmp/moekit-fixtures-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.13.0+cpu" transformers safetensors tokenizers numpy
fi
"$venv/bin/python" -c "import gguf" 2>/dev/null || "$venv/bin/pip" install --quiet gguf
"$venv/bin/python" scripts/make-gguf-fixtures.py
