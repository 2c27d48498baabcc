#!/usr/bin/env bash
# Writes the GGUF fixtures (scripts/make-gguf-fixtures.py) in the throw-away environment of
# scripts/fixture-venv.sh, with the `gguf` package added (by package name).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fixture-venv.sh
"$venv/bin/python" -c "import gguf" 2>/dev/null || "$venv/bin/pip" install --quiet gguf
"$venv/bin/python" scripts/make-gguf-fixtures.py
