# Sourced by the llama.cpp peer scripts: builds, once, llama.cpp from the source archive of the
# llama-cpp-python package (it vendors llama.cpp; fetched by package name with pip, never
# installed) in a throw-away folder, and sets $llamacpp to its source tree and $llamacpp_bin to
# its programs and libraries. MOEKIT_LLAMACPP chooses another folder; the version is printed.
llamacpp_version="0.3.36"
llamacpp_root="${MOEKIT_LLAMACPP:-/tmp/moekit-llamacpp}"
llamacpp="$llamacpp_root/llama_cpp_python-$llamacpp_version/vendor/llama.cpp"
llamacpp_bin="$llamacpp/build/bin"
llamacpp_targets="llama-quantize llama-imatrix llama-perplexity llama-bench llama-cli"
llamacpp_missing=""
for target in $llamacpp_targets; do [ -x "$llamacpp_bin/$target" ] || llamacpp_missing=1; done
if [ -n "$llamacpp_missing" ]; then
  command -v cmake > /dev/null || apt-get install -y -qq cmake > /dev/null
  mkdir -p "$llamacpp_root"
  archive="$llamacpp_root/llama_cpp_python-$llamacpp_version.tar.gz"
  if [ ! -f "$archive" ]; then
    # Only this package comes as source; its build tools come as wheels.
    pip download --quiet --no-deps --no-binary llama-cpp-python "llama-cpp-python==$llamacpp_version" \
      -d "$llamacpp_root"
  fi
  [ -d "$llamacpp" ] || tar -xzf "$archive" -C "$llamacpp_root"
  cmake -S "$llamacpp" -B "$llamacpp/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DGGML_NATIVE=ON > "$llamacpp_root/cmake.log"
  # shellcheck disable=SC2086 # the targets are words
  cmake --build "$llamacpp/build" -j "$(nproc)" --target $llamacpp_targets >> "$llamacpp_root/cmake.log"
fi
echo "llama.cpp from llama-cpp-python $llamacpp_version: $(LD_LIBRARY_PATH="$llamacpp_bin" \
  "$llamacpp_bin/llama-cli" --version 2>&1 | head -1)"
