#!/usr/bin/env bash
# Installs the Debian packages Loci builds with (only those missing), then configures and
# builds one CMake preset. Safe to run any number of times.
#
# Usage: tools/setup.sh PRESET [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:?usage: tools/setup.sh PRESET [targets...]}
shift

packages=(
  build-essential cmake ninja-build pkg-config ccache
  liburing-dev libmimalloc-dev libxxhash-dev libsimde-dev libboost-dev libeigen3-dev
  librapidcheck-dev libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
  clang-14 libclang-rt-14-dev
  librocksdb-dev libsqlite3-dev  # benchmark peers
  libhnswlib-dev libfaiss-dev libopenblas-dev liblapack-dev zlib1g-dev gnuplot-nox  # vector peers
  python3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

export LOCI_CCACHE=ccache
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" ${1:+--target "$@"}
