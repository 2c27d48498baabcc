#!/usr/bin/env bash
# Writes the GGUF fixtures in the throw-away environment of scripts/fixture-venv.sh, with the
# `gguf` package added (by package name): the type fixtures (scripts/make-gguf-fixtures.py), and
# the SentencePiece vocabulary tokenized by llama.cpp (scripts/make-gguf-tokenizer-fixtures.py), and
# the model fixtures (scripts/make-gguf-model-fixtures.py), converted, quantized and run by the
# llama.cpp that scripts/llamacpp.sh builds, and MoEKit-written files run by llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fixture-venv.sh
"$venv/bin/python" -c "import gguf" 2>/dev/null || "$venv/bin/pip" install --quiet gguf
"$venv/bin/python" scripts/make-gguf-fixtures.py
source scripts/llamacpp.sh
"$venv/bin/python" -c "import sentencepiece" 2>/dev/null || "$venv/bin/pip" install --quiet sentencepiece
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
for tool in llama-logits llama-tokens; do
  cc -O2 -I"$llamacpp/include" -I"$llamacpp/ggml/include" "scripts/peer/$tool.c" -L"$llamacpp_bin" -lllama \
    -o "$build/$tool"
done
LLAMACPP="$llamacpp" LLAMACPP_BIN="$llamacpp_bin" LLAMA_TOKENS="$build/llama-tokens" \
  "$venv/bin/python" scripts/make-gguf-tokenizer-fixtures.py
source scripts/blas-env.sh
swift build --product moe-generate > /dev/null
LLAMACPP="$llamacpp" LLAMACPP_BIN="$llamacpp_bin" LLAMA_LOGITS="$build/llama-logits" \
  MOE_GENERATE="$(swift build --show-bin-path)/moe-generate" \
  LLAMACPP_VERSION="$llamacpp_version" "$venv/bin/python" scripts/make-gguf-model-fixtures.py "$@"
