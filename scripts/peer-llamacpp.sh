#!/usr/bin/env bash
# Whole-model speed, MoEKit beside llama.cpp, on the same files and machine:
#
# 1. model-bench writes a random bf16 checkpoint with OLMoE-1B-7B's shape cut to
#    MOEKIT_PEER_LAYERS layers (default 4), and moe-generate saves it as GGUF in each format
#    (MOEKIT_PEER_FORMATS, default "float32 bf16 q8 q4 q4_K": F32, BF16, Q8_0, Q4_0, Q4_K).
# 2. Both engines compute the same thing first: the logits of a 16-token prompt from MoEKit
#    (moe-generate --logits) and from llama.cpp (scripts/peer/llama-logits.c, float32 KV cache)
#    on the same GGUF file, compared as the largest difference relative to the largest logit and
#    as top-1 agreement; a format whose logits differ by more than 10 % stops the script.
# 3. Then alternating rounds (MOEKIT_PEER_ROUNDS, default 3) at 1 and 2 threads: llama-bench
#    (-p 64 -n 32, one repetition) and moe-generate (a 64-token prompt, 32 greedy tokens past any
#    end token) on the same file. Prints median and range of tokens/s, and MoEKit's speed ÷
#    llama.cpp's (the goal is at least 1.1 for decode, 1.0 for prefill).
#
# llama.cpp is built from the llama-cpp-python source archive (scripts/llamacpp.sh);
# MOEKIT_PEER_DIR (default /tmp/moekit-peer-llamacpp) holds the files (about 3.8 GB a format at
# 4 layers in bf16).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/blas-env.sh
source scripts/blas-env.sh
# shellcheck source=scripts/llamacpp.sh
source scripts/llamacpp.sh
work="${MOEKIT_PEER_DIR:-/tmp/moekit-peer-llamacpp}"
layers="${MOEKIT_PEER_LAYERS:-4}"
rounds="${MOEKIT_PEER_ROUNDS:-3}"
read -r -a formats <<< "${MOEKIT_PEER_FORMATS:-float32 bf16 q8 q4 q4_K}"
mkdir -p "$work"
swift build -c release --product model-bench > /dev/null
swift build -c release --product moe-generate > /dev/null
bin=.build/release
cc -O2 -I"$llamacpp/include" -I"$llamacpp/ggml/include" scripts/peer/llama-logits.c -L"$llamacpp_bin" -lllama \
  -o "$work/llama-logits"
export LD_LIBRARY_PATH="$llamacpp_bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

model="$work/olmoe-$layers"
if [ ! -f "$model/model.safetensors" ]; then
  "$bin/model-bench" --layers "$layers" --folder "$model" --decode-tokens 2 --prompt-tokens 8 > /dev/null 2>&1
fi
prompt16=$(python3 -c 'print(",".join(str((i * 7919 + 11) % 50000) for i in range(16)))')
prompt64=$(python3 -c 'print(",".join(str((i * 7919 + 11) % 50000) for i in range(64)))')

echo "tokens/s, median (range) of $rounds alternating rounds; ÷ is MoEKit's speed over llama.cpp's"
echo
echo "| format | threads | llama.cpp decode | MoEKit decode | ÷ | llama.cpp prefill 64 | MoEKit prefill 64 | ÷ |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|"
for format in "${formats[@]}"; do
  gguf="$work/olmoe-$layers-$format.gguf"
  [ -f "$gguf" ] || "$bin/moe-generate" --model "$model" --weight-format "$format" --save-gguf "$gguf" > /dev/null 2>&1
  # The same computation first.
  "$bin/moe-generate" --model "$gguf" --token-ids "$prompt16" --logits "$work/ours.npy" > /dev/null 2>&1
  # shellcheck disable=SC2086 # the ids are words
  "$work/llama-logits" "$gguf" "$work/theirs.f32" ${prompt16//,/ }
  agreement=$(python3 - "$work/ours.npy" "$work/theirs.f32" << 'EOF'
import struct, sys
ours = open(sys.argv[1], "rb").read()
header = 10 + int.from_bytes(ours[8:10], "little")
a = struct.unpack("<%df" % ((len(ours) - header) // 4), ours[header:])
raw = open(sys.argv[2], "rb").read()
b = struct.unpack("<%df" % (len(raw) // 4), raw)
rows = 16
v = len(a) // rows
largest = max(abs(x) for x in b)
difference = max(abs(x - y) for x, y in zip(a, b)) / largest
top = sum(max(range(v), key=lambda j: a[r * v + j]) == max(range(v), key=lambda j: b[r * v + j]) for r in range(rows))
print("%.4f %d" % (difference, top))
EOF
  )
  read -r difference top <<< "$agreement"
  echo "$format: logits differ by $difference of the largest, top-1 agrees at $top of 16 positions" >&2
  if python3 -c "import sys; sys.exit(0 if float('$difference') > 0.1 else 1)"; then
    echo "$format: the engines do not compute the same thing; not timing it" >&2
    exit 1
  fi
  for threads in 1 2; do
    ours_decode=() ours_prefill=() theirs_decode=() theirs_prefill=()
    for _ in $(seq "$rounds"); do
      read -r pp tg <<< "$("$llamacpp_bin/llama-bench" -m "$gguf" -p 64 -n 32 -t "$threads" -r 1 -o json 2> /dev/null \
        | python3 -c 'import json, sys
runs = json.load(sys.stdin)
pp = [r["avg_ts"] for r in runs if r["n_prompt"] > 0][0]
tg = [r["avg_ts"] for r in runs if r["n_gen"] > 0][0]
print(pp, tg)')"
      theirs_prefill+=("$pp") theirs_decode+=("$tg")
      read -r pp tg <<< "$("$bin/moe-generate" --model "$gguf" --token-ids "$prompt64" --max-new-tokens 33 \
        --ignore-eos --threads "$threads" --format json 2> /dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin)
print(r["prefill_tokens_per_second"], r["decode_tokens_per_second"])')"
      ours_prefill+=("$pp") ours_decode+=("$tg")
    done
    python3 - "$format" "$threads" "${theirs_decode[*]}" "${ours_decode[*]}" "${theirs_prefill[*]}" \
      "${ours_prefill[*]}" << 'EOF'
import statistics, sys
format, threads = sys.argv[1], sys.argv[2]
columns = [[float(x) for x in arg.split()] for arg in sys.argv[3:]]
def cell(values):
    return "%.1f (%.1f–%.1f)" % (statistics.median(values), min(values), max(values))
td, od, tp, op = columns
print("| %s | %s | %s | %s | %.2f | %s | %s | %.2f |" % (format, threads, cell(td), cell(od),
    statistics.median(od) / statistics.median(td), cell(tp), cell(op), statistics.median(op) / statistics.median(tp)))
EOF
  done
done
