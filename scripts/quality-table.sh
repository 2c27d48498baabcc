#!/usr/bin/env bash
# The quantization-quality table of docs/CompactWeights.md, on real (trained) weights:
#
# 1. moe-lm trains a byte-level Mixtral-shaped MoE (4 layers, 8 experts, top-2, d = 512, experts 256
#    wide, so every row holds K-quant super-blocks) on Debian's fortunes, all files but two;
#    `science` is the held-out evaluation text and `wisdom` the calibration text.
# 2. moe-eval saves the float32 model's distributions on the evaluation text (every token kept:
#    the divergences are exact) and routing.
# 3. Each quantization is scored against that reference by the same harness: MoEKit's
#    (`--weight-format`, with and without `--calibration-text`) and llama.cpp's `llama-quantize`
#    (with and without an importance matrix from `llama-imatrix` on the same calibration text),
#    run on the float32 GGUF MoEKit wrote. llama.cpp is built from the llama-cpp-python source
#    archive (scripts/llamacpp.sh).
#
# Prints a Markdown table: format, bits per weight, KL mean and p99, top-1 agreement, Δ perplexity,
# routing changed. MOEKIT_QUALITY_DIR (default /tmp/moekit-quality) holds the run;
# MOEKIT_QUALITY_STEPS (default 3000) the training steps. About an hour on 2 cores, most of it
# training (a trained checkpoint is reused).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/blas-env.sh
source scripts/blas-env.sh
# shellcheck source=scripts/llamacpp.sh
source scripts/llamacpp.sh
bash scripts/install-text.sh
work="${MOEKIT_QUALITY_DIR:-/tmp/moekit-quality}"
steps="${MOEKIT_QUALITY_STEPS:-3000}"
mkdir -p "$work"
swift build -c release --product moe-lm > /dev/null
swift build -c release --product moe-eval > /dev/null
swift build -c release --product moe-generate > /dev/null
bin=.build/release
fortunes=/usr/share/games/fortunes

# Fortunes as paragraphs (entries end at a line holding only %), two files held out.
if [ ! -d "$work/train" ]; then
  mkdir -p "$work/train.partial"
  for file in "$fortunes"/*; do
    name=$(basename "$file")
    case "$name" in *.dat | *.u8 | science | wisdom) continue ;; esac
    [ -f "$file" ] && sed 's/^%$//' "$file" > "$work/train.partial/$name"
  done
  mv "$work/train.partial" "$work/train"
fi
sed 's/^%$//' "$fortunes/science" > "$work/evaluation.txt"
sed 's/^%$//' "$fortunes/wisdom" > "$work/calibration.txt"

model="$work/lm/checkpoints/mixtral-8x-top2"
if [ ! -f "$model/model.safetensors" ]; then
  "$bin/moe-lm" --studies quality --models moe-8 --dimensions 512 --heads 8 --layers 4 --context 64 \
    --sequences 8 --steps "$steps" --threads 2 --text "$work/train" --output-directory "$work/lm"
fi

eval_args=(--text "$work/evaluation.txt" --context 64 --max-tokens 16384 --format json)
"$bin/moe-eval" --model "$model" --weight-format float32 "${eval_args[@]}" \
  --save-reference "$work/reference.mkrl" --reference-top 256 > "$work/reference.json" 2> /dev/null
score() { # label, then moe-eval arguments
  local label="$1"
  shift
  "$bin/moe-eval" "${eval_args[@]}" --reference-logits "$work/reference.mkrl" "$@" 2> /dev/null \
    | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("| %s | %s | %s | %s | %s | %s | %s |" % (sys.argv[1], r["bits per weight"], r["KL divergence mean"],
  r["KL divergence p99"], r["top-1 agreement"], r["Δ perplexity"], r["routing changed"]))' "$label"
}

# llama.cpp's files, from the float32 GGUF MoEKit writes.
f32="$work/model-f32.gguf"
[ -f "$f32" ] || "$bin/moe-generate" --model "$model" --weight-format float32 --save-gguf "$f32" > /dev/null
export LD_LIBRARY_PATH="$llamacpp_bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ ! -f "$work/imatrix.gguf" ]; then
  "$llamacpp_bin/llama-imatrix" -m "$f32" -f "$work/calibration.txt" -o "$work/imatrix.gguf" -c 64 -t 2 \
    > "$work/imatrix.log" 2>&1
fi
# The embedding (which the tied head reads) stays float32, as MoEKit keeps it, so both sides
# quantize the same tensors; Q8_0, Q4_0 and Q6_K are --pure (every product in that type, as
# MoEKit's --weight-format does), Q4_K_M is llama.cpp's mixture, which MoEKit's recipe follows.
keep=(--token-embedding-type f32 --output-tensor-type f32)
for type in Q8_0 Q4_0 Q4_K_M Q6_K; do
  pure=()
  [ "$type" = Q4_K_M ] || pure=(--pure)
  [ -f "$work/llama-$type.gguf" ] || "$llamacpp_bin/llama-quantize" "${keep[@]}" "${pure[@]}" "$f32" \
    "$work/llama-$type.gguf" "$type" 2 > "$work/quantize-$type.log" 2>&1
  [ -f "$work/llama-$type-imatrix.gguf" ] || "$llamacpp_bin/llama-quantize" "${keep[@]}" "${pure[@]}" \
    --imatrix "$work/imatrix.gguf" "$f32" "$work/llama-$type-imatrix.gguf" "$type" 2 \
    > "$work/quantize-$type-imatrix.log" 2>&1
done

python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("float32 reference: perplexity %s, %s tokens of fortunes/science, %s" % (r["perplexity"], r["tokens scored"], r["windows"]))' \
  "$work/reference.json"
echo
echo "| quantization | bits/weight | KL mean | KL p99 | top-1 | Δ ppl | routing changed |"
echo "|---|--:|--:|--:|--:|--:|--:|"
calibration=(--calibration-text "$work/calibration.txt")
for pair in "q8 Q8_0" "q4 Q4_0" "q4_K_M Q4_K_M" "q6_K Q6_K"; do
  read -r ours theirs <<< "$pair"
  score "MoEKit $ours" --model "$model" --weight-format "$ours"
  [ "$ours" = q8 ] || score "MoEKit $ours, calibrated" --model "$model" --weight-format "$ours" "${calibration[@]}"
  score "llama.cpp $theirs" --model "$work/llama-$theirs.gguf"
  score "llama.cpp $theirs, imatrix" --model "$work/llama-$theirs-imatrix.gguf"
done
echo
echo "Rarely routed experts: q4_K_M calibrated on 32 and 64 tokens of the calibration text (some experts"
echo "then see none), each expert's statistics from its routed tokens alone (--prior-tokens 0, llama.cpp's"
echo "rule) or shrunk toward its own activations on every token (--prior-tokens 16, MoEKit's default):"
echo
echo "| quantization | bits/weight | KL mean | KL p99 | top-1 | Δ ppl | routing changed |"
echo "|---|--:|--:|--:|--:|--:|--:|"
for tokens in 32 64; do
  for prior in 0 16; do
    score "MoEKit q4_K_M, $tokens tokens, --prior-tokens $prior" --model "$model" --weight-format q4_K_M \
      "${calibration[@]}" --calibration-tokens "$tokens" --prior-tokens "$prior"
  done
done
