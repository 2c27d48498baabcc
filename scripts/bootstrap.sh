#!/usr/bin/env bash
# Installs what MoEKit needs to build: OpenBLAS (cblas.h, libopenblas) and LAPACKE
# (lapacke.h, liblapacke), and Open MPI (mpi.h, mpirun) for the MoEDistributed module, ep-bench
# and their tests. Idempotent: does nothing when everything is already there.
# Not root and something missing: prints the exact command to run and exits 1.
set -euo pipefail

packages=(libopenblas-dev liblapacke-dev pkg-config libopenmpi-dev openmpi-bin)

have_headers() {
  local dirs=(/usr/include /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/include/openblas)
  local cblas="" lapacke=""
  for d in "${dirs[@]}"; do
    [ -f "$d/cblas.h" ] && cblas=yes
    [ -f "$d/lapacke.h" ] && lapacke=yes
  done
  [ -n "$cblas" ] && [ -n "$lapacke" ] && command -v pkg-config >/dev/null 2>&1 \
    && pkg-config --exists openblas && pkg-config --exists ompi-c && command -v mpirun >/dev/null 2>&1
}

if have_headers; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: OpenBLAS/LAPACKE or Open MPI development files are missing." >&2
  echo "bootstrap: run this once, then try again:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi

echo "bootstrap: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null

if ! have_headers; then
  echo "bootstrap: installed ${packages[*]} but cblas.h/lapacke.h, openblas.pc, ompi-c.pc or mpirun are still missing" >&2
  exit 1
fi
echo "bootstrap: done" >&2
