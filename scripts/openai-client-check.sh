#!/usr/bin/env bash
# Serves the Qwen2-MoE fixture (with Qwen2.5's chat template) by moe-serve and speaks to it with
# the `openai` Python package, installed by name in a throw-away virtual environment
# (MOEKIT_OPENAI_VENV, default /tmp/moekit-openai-venv): scripts/peer/openai_client_check.py.
# With --optional (as scripts/test.sh calls it) a machine without Python or without the package
# index skips the check instead of failing.
set -euo pipefail
cd "$(dirname "$0")/.."
optional=false
[ "${1:-}" = "--optional" ] && optional=true
skip() {
  echo "openai-client-check: skipped: $1" >&2
  $optional && exit 0
  exit 1
}
command -v python3 > /dev/null || skip "no python3"
venv="${MOEKIT_OPENAI_VENV:-/tmp/moekit-openai-venv}"
if ! "$venv/bin/python" -c "import openai" 2> /dev/null; then
  python3 -m venv "$venv" > /dev/null 2>&1 || skip "python3 cannot make a virtual environment"
  timeout 300 "$venv/bin/pip" install --quiet openai > /dev/null 2>&1 || skip "the openai package could not be installed"
fi
source scripts/blas-env.sh
swift build --product moe-serve > /dev/null 2>&1 || swift build --product moe-serve
work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fixture=Tests/ModelIOTests/Fixtures
cp "$fixture"/models/qwen2_moe/{config.json,generation_config.json,model.safetensors,tokenizer.json} "$work/"
python3 -c 'import json, sys; json.dump({"chat_template": open(sys.argv[1]).read(), "eos_token": "<|im_end|>"}, open(sys.argv[2], "w"))' \
  "$fixture/chat_templates/qwen2.5.jinja" "$work/tokenizer_config.json"
"$(swift build --show-bin-path)/moe-serve" --model "$work" --served-model-name qwen2-moe-fixture --port 0 \
  > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/server.log" 2> /dev/null && break
  sleep 0.2
done
url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/server.log" | head -1)
[ -n "$url" ] || { cat "$work/server.log" >&2; exit 1; }
MOESERVE_URL="$url" MOESERVE_MODEL=qwen2-moe-fixture "$venv/bin/python" scripts/peer/openai_client_check.py
kill -INT "$server"
wait "$server"
server=""
grep -q "moe-serve: stopped" "$work/server.log"
echo "openai-client-check: moe-serve answered the openai client; Ctrl-C stopped it cleanly"
