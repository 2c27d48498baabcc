#!/usr/bin/env bash
# Writes the whole-model and tokenizer fixtures (scripts/make-model-fixtures.py) in the
# throw-away environment of scripts/fixture-venv.sh. Arguments name the families to rewrite
# (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fixture-venv.sh
"$venv/bin/python" scripts/make-model-fixtures.py "$@"
