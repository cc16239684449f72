#!/usr/bin/env bash
# Builds (installing what is missing) and runs the test suite.
# Usage: scripts/test.sh [--sanitize|--tsan] [-L unit|integration|e2e] [other ctest options]
set -euo pipefail
cd "$(dirname "$0")/.."

SETUP_ARGS=()
BUILD_DIR=build
CTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) SETUP_ARGS+=(--sanitize); BUILD_DIR=build-asan ;;
    --tsan) SETUP_ARGS+=(--tsan); BUILD_DIR=build-tsan ;;
    *) CTEST_ARGS+=("$1") ;;
  esac
  shift
done

scripts/setup.sh "${SETUP_ARGS[@]}"
cd "$BUILD_DIR"
ctest --output-on-failure --no-tests=error -j "$(nproc)" "${CTEST_ARGS[@]}"
