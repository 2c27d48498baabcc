# Sourced by the fixture scripts: makes, once, the throw-away virtual environment with CPU-only
# PyTorch, transformers, safetensors, tokenizers and numpy (by package name, from the
# machine's ordinary pip), and sets $venv to it (MOEKIT_FIXTURE_VENV chooses another folder).
venv="${MOEKIT_FIXTURE_VENV:-/tmp/moekit-fixtures-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.13.0+cpu" transformers safetensors tokenizers numpy
fi
