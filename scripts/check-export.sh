#!/usr/bin/env bash
# Checks that models trained in MoEKit and written as Hugging Face checkpoints
# (HuggingFaceExport: Llama for dense, Mixtral for MoE) give the same logits in transformers.
# Installs torch (CPU), transformers and safetensors by name into a throw-away virtual
# environment (MOEKIT_PEER_VENV reuses one), then runs the export tests with
# MOEKIT_TRANSFORMERS_PYTHON pointing at it; without it those tests are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/blas-env.sh
venv="${MOEKIT_PEER_VENV:-/tmp/moekit-venv}"
if ! "$venv/bin/python" -c "import transformers, safetensors, torch, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.13.0+cpu" transformers safetensors numpy
fi
MOEKIT_TRANSFORMERS_PYTHON="$venv/bin/python" swift test --filter HuggingFaceExportTests
