#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks (as root, with apt-get), then configures and
# builds. Usage: scripts/setup.sh [--sanitize|--tsan] [--build-dir DIR] [--target T]...
# Safe to run again: it installs only what is missing and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build
# Line tables only (-g1): backtraces and sanitizer reports keep file:line, and a build is about a
# quarter faster than with full debug info (-g), which CI's time budget needs.
CMAKE_ARGS=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
TARGETS=()
# TSan build: -O1 with line tables (TSan at -O0 is too slow for the timing of the queue tests),
# and the shared precompiled header (cmake/ApPrecompiledHeaders.cmake) to build faster.
TSAN_FLAGS=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" -DAUTOPLACER_BENCH=OFF
            -DAUTOPLACER_PCH=ON)
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) BUILD_DIR=build-asan; CMAKE_ARGS+=(-DAUTOPLACER_SANITIZE=ON -DAUTOPLACER_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1") ;;
    --tsan) BUILD_DIR=build-tsan; CMAKE_ARGS+=(-DAUTOPLACER_TSAN=ON "${TSAN_FLAGS[@]}") ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    --target) TARGETS+=(--target "$2"); shift ;;
    --no-build) NO_BUILD=1 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# Build tools and libraries, then the real servers the integration tests start (prometheus,
# promtool, etcd), wrk for load tests, and clang's runtime for the fuzzers.
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3 python3-yaml curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libssl-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus etcd-server etcd-client wrk clang libclang-rt-14-dev clang-format openssl
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (or install these packages first)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "${NO_BUILD:-0}" = 1 ] && exit 0

JOBS=$(nproc)
cmake -S . -B "$BUILD_DIR" -G Ninja "${CMAKE_ARGS[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" "${TARGETS[@]}"
