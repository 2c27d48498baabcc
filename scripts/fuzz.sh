#!/usr/bin/env bash
# Fuzzes one parser with libFuzzer and AddressSanitizer:
#   scripts/fuzz.sh safetensors|npy|config|tokenizer|gguf SECONDS
# Seeds come from Fuzz/Corpus/TARGET (left untouched); new inputs go to
# .build-fuzz/corpus-TARGET and crashes to .build-fuzz/crashes-TARGET. Turn every crash
# into a regression test (and a file in Fuzz/Corpus/TARGET).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh safetensors|npy|config|tokenizer|gguf SECONDS}"
seconds="${2:?usage: scripts/fuzz.sh safetensors|npy|config|tokenizer|gguf SECONDS}"
case "$target" in safetensors|npy|config|tokenizer|gguf) ;; *) echo "unknown target $target (safetensors, npy, config, tokenizer, gguf)" >&2; exit 2;; esac
bash scripts/bootstrap.sh
swift build -c release --product "fuzz-$target" --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library
mkdir -p ".build-fuzz/corpus-$target" ".build-fuzz/crashes-$target"
".build-fuzz/release/fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 \
  -artifact_prefix=".build-fuzz/crashes-$target/" ".build-fuzz/corpus-$target" "Fuzz/Corpus/$target"
