#!/usr/bin/env bash
# Configures and builds into $BUILD_DIR (default: build). Options come from
# the environment: PB_WERROR=ON, PB_SANITIZE=ON, CMAKE_BUILD_TYPE=...
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" \
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  -DPB_WERROR="${PB_WERROR:-OFF}" -DPB_SANITIZE="${PB_SANITIZE:-OFF}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
